import { counted, formatBytes } from "../../components/format";
import type { DatasetStats } from "./api";

const range = (r: DatasetStats["width"]) => (r ? `${r.min}–${r.max} px (mean ${r.mean})` : "–");
const counts = (c: Record<string, number>) => Object.entries(c).map(([k, n]) => `${k}: ${n}`).join(" · ") || "–";

/** The dataset's figures: images, bytes, sizes, aspect ratios, captioned share, problems. */
export default function StatsPanel({ stats }: { stats: DatasetStats }) {
  return (
    <details className="tp-stats" aria-label="Dataset stats">
      <summary data-testid="dataset-stats">
        {stats.clips > 0 ? `${counted(stats.images - stats.clips, "image")}, ${counted(stats.clips, "video clip")}` : counted(stats.images, "image")} · {stats.captioned_pct}% captioned
        {stats.undecodable > 0 && ` · ${stats.undecodable} undecodable`}
        {stats.non_utf8_captions > 0 && ` · ${stats.non_utf8_captions} non-UTF-8 captions`}
        {stats.excluded > 0 && ` · ${stats.excluded} excluded`}
      </summary>
      <dl>
        <dt>Files</dt><dd>{stats.images} images, {formatBytes(stats.bytes)}</dd>
        <dt>Captioned</dt><dd>{stats.captioned} ({stats.captioned_pct}%)</dd>
        <dt>Width</dt><dd>{range(stats.width)}</dd>
        <dt>Height</dt><dd>{range(stats.height)}</dd>
        <dt>Aspect ratios</dt><dd>{counts(stats.aspect_ratios)}</dd>
        <dt>Shorter side</dt><dd>{counts(stats.short_side)}</dd>
      </dl>
    </details>
  );
}
