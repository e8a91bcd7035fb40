import type { components } from "../../api/schema";
import { useApi } from "../../hooks/useApi";

type Schemas = components["schemas"];
export type Regularization = Schemas["RegularizationRef"];
type DatasetSummary = Schemas["DatasetSummary"];

/** The profile's `[regularization]`: a set of class images (a dataset TagPilot marked as a regularization
 *  set), how often it repeats, its loss weight, and the caption of class images without one. */
export function RegularizationPicker({ dataset, value, onChange }: {
  dataset: string;
  value: Regularization | null;
  onChange: (v: Regularization | null) => void;
}) {
  const sets = useApi<DatasetSummary[]>("/api/tagpilot/datasets");
  const choices = (sets.data ?? []).filter((d) => d.regularization && d.name !== dataset);
  const set = (patch: Partial<Regularization>) => value && onChange({ ...value, ...patch });
  return (
    <fieldset aria-label="Regularization" className="reg-picker">
      <legend>Regularization images</legend>
      <label>
        Regularization set
        <select value={value?.name ?? ""}
          onChange={(e) => onChange(e.target.value ? { repeats: 1, weight: 1, class_tokens: "", ...value, name: e.target.value } : null)}>
          <option value="">(none)</option>
          {choices.map((d) => <option key={d.name} value={d.name}>{d.name} ({d.images} images)</option>)}
        </select>
      </label>
      {choices.length === 0 && (
        <p className="hint">No regularization sets: mark a dataset of class images as one in TagPilot (its card's “Regularization set”).</p>
      )}
      {value && (
        <>
          <label>
            Repeats
            <input type="number" min={1} value={value.repeats} onChange={(e) => set({ repeats: Number(e.target.value) })} />
          </label>
          <label>
            Prior loss weight
            <input type="number" min={0.01} max={10} step={0.1} value={value.weight} onChange={(e) => set({ weight: Number(e.target.value) })} />
          </label>
          <label>
            Class tokens
            <input value={value.class_tokens} placeholder="caption of uncaptioned class images, e.g. a cat" onChange={(e) => set({ class_tokens: e.target.value })} />
          </label>
        </>
      )}
    </fieldset>
  );
}
