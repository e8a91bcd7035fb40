import { ErrorBanner } from "../../components/ErrorBanner";
import { useServices } from "../../hooks/useServices";
import { Link, navigate } from "../../router";
import type { PageProps } from "../types";
import { LogViewer } from "./LogViewer";

/** Services and their logs: /services/<name> follows that service's log. */
export default function ServicesPage({ subpath }: PageProps) {
  const { data, error } = useServices();
  const selected = decodeURIComponent(subpath) || data?.services[0]?.name;
  return (
    <div className="page services-page">
      <h1>Services</h1>
      <ErrorBanner message={error} />
      <div className="split">
        <nav className="service-list" aria-label="Services">
          <select
            className="phone-only"
            aria-label="Service"
            value={selected ?? ""}
            onChange={(e) => navigate(`/services/${encodeURIComponent(e.target.value)}`)}
          >
            {data?.services.map((s) => (
              <option key={s.name} value={s.name}>
                {s.title}
              </option>
            ))}
          </select>
          {data?.services.map((s) => (
            <Link
              key={s.name}
              to={`/services/${encodeURIComponent(s.name)}`}
              className={`desk-only${s.name === selected ? " active" : ""}`}
              aria-current={s.name === selected ? "page" : undefined}
            >
              <span className={`light ${s.state === "running" ? (s.ready === false ? "wait" : "ok") : "off"}`} />
              {s.title}
              <span className="muted state">{s.state.replace("_", " ")}</span>
            </Link>
          ))}
        </nav>
        {selected ? <LogViewer key={selected} name={selected} /> : <p className="muted">Loading…</p>}
      </div>
    </div>
  );
}
