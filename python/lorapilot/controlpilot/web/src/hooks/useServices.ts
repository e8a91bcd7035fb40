import { useEffect, useState, type Dispatch, type SetStateAction } from "react";
import { errorMessage, get } from "../api/client";
import { useEvent } from "../api/events";
import type { Service, ServicesResponse } from "../api/types";

/** Where this browser opens a service: its port on the host that served the page; none without a port. */
function urlFor(s: Service): string | null {
  return s.port ? `http://${window.location.hostname}:${s.port}${s.url_path}` : null; // IPv6 hostnames keep their []
}

/** The service list: loaded once, then kept current by `services` events (no polling). */
export function useServices(): {
  data: ServicesResponse | undefined;
  error: string | null;
  setData: Dispatch<SetStateAction<ServicesResponse | undefined>>;
} {
  const [data, setData] = useState<ServicesResponse>();
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    get<ServicesResponse>("/api/services")
      .then((d) => setData((current) => (current && current.updated_at > d.updated_at ? current : d)))
      .catch((err) => setError(errorMessage(err)));
  }, []);
  useEvent<ServicesResponse>("services", (d) => {
    setError(null);
    // Events carry no `url`; keep the one the API computed for this browser's host, or
    // build it the same way when the event came first (the API answers for this host).
    setData((current) => {
      const urls = new Map(current?.services.map((s) => [s.name, s.url]));
      return { ...d, services: d.services.map((s) => ({ ...s, url: s.url ?? urls.get(s.name) ?? urlFor(s) })) };
    });
  });
  return { data, error, setData };
}
