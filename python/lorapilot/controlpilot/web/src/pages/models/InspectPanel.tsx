export interface Inspection {
  name: string; size: number; format: string;
  summary: Record<string, unknown> & { lora?: { algo: string; rank: number | null; alpha: number | null; scale: number | null } | null };
  training: Record<string, string>;
  metadata: Record<string, string>;
  tag_frequency: { dataset: string; tag: string; count: number }[];
  hashes: { sha256: string; autov2: string; addnet: string | null } | null;
  card: TrainingCard | null;
}

/** TrainPilot's `<name>.training.json` beside a LoRA it trained. */
interface TrainingCard {
  trainer: string; family: string; base_model: string | null; steps: number | null; job_id: number; finished_at: string;
  dataset: { name: string; images?: number; captioned?: number };
}

const SUMMARY_KEYS: [string, string][] = [
  ["kind", "Kind"], ["family_label", "Base family"], ["variant", "Variant"], ["dtype", "Dtype"],
  ["tensors", "Tensors"], ["evidence", "Detected by"], ["warning", "Warning"], ["error", "Error"],
];

/** Details of one model: what it is, its adapter shape, training metadata and tag frequencies. */
export function InspectPanel({ report, onClose }: { report: Inspection; onClose: () => void }) {
  const s = report.summary;
  const lora = s.lora;
  return (
    <section aria-label={`Details of ${report.name}`} className="inspect">
      <h2>{report.name} <button onClick={onClose}>Close</button></h2>
      <dl>
        {SUMMARY_KEYS.filter(([k]) => s[k] !== null && s[k] !== undefined && s[k] !== "").map(([k, label]) => (
          <div key={k}><dt>{label}</dt><dd>{String(s[k])}</dd></div>
        ))}
        {lora && <div><dt>Adapter</dt><dd>{lora.algo}, rank {lora.rank ?? "–"}, alpha {lora.alpha ?? "not stored (scale 1)"}</dd></div>}
        {report.hashes && <div><dt>sha256</dt><dd><code>{report.hashes.sha256}</code></dd></div>}
        {report.hashes?.addnet && <div><dt>addnet</dt><dd><code>{report.hashes.addnet}</code></dd></div>}
      </dl>
      {report.card && (
        <p data-testid="training-card">
          Trained in LoRA Pilot (job {report.card.job_id}, {report.card.finished_at}): {report.card.trainer} trainer,
          dataset {report.card.dataset.name}{report.card.dataset.images !== undefined && ` (${report.card.dataset.images} images)`},
          {" "}{report.card.steps ?? "?"} steps on {report.card.base_model ?? "?"}
        </p>
      )}
      {Object.keys(report.training).length > 0 && (
        <>
          <h3>Training</h3>
          <dl>{Object.entries(report.training).map(([k, v]) => <div key={k}><dt>{k}</dt><dd>{v}</dd></div>)}</dl>
        </>
      )}
      {report.tag_frequency.length > 0 && (
        <div className="table-scroll">
          <table aria-label="Tag frequency">
            <thead><tr><th>Dataset</th><th>Tag</th><th>Count</th></tr></thead>
            <tbody>
              {report.tag_frequency.map((r) => <tr key={`${r.dataset}/${r.tag}`}><td>{r.dataset}</td><td>{r.tag}</td><td>{r.count}</td></tr>)}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
