import type { Service } from "../../api/types";
import { ErrorBanner } from "../../components/ErrorBanner";
import { useServices } from "../../hooks/useServices";
import { ServiceCard } from "./ServiceCard";
import { ShutdownPanel } from "./ShutdownPanel";
import { SyncPanel } from "./SyncPanel";
import { SystemPanel } from "./SystemPanel";

export default function Dashboard() {
  const { data, error, setData } = useServices();
  const onChanged = (s: Service) =>
    setData((d) => d && { ...d, services: d.services.map((x) => (x.name === s.name ? { ...x, ...s } : x)) });
  return (
    <div className="page dashboard">
      <h1>Dashboard</h1>
      <ErrorBanner message={error} />
      {data && !data.running && <ErrorBanner message={data.message} />}
      <SystemPanel />
      <ShutdownPanel />
      <h2>Services</h2>
      <section className="cards" aria-label="Services">
        {data?.services.map((s) => <ServiceCard key={s.name} service={s} managerUp={data.running} onChanged={onChanged} />)}
        {!data && !error && <p className="muted">Loading services…</p>}
      </section>
      <SyncPanel />
    </div>
  );
}
