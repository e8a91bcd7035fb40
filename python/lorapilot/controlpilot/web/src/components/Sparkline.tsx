/** A small line graph (SVG, no library): `values` scaled to 0..`max`, nulls leave gaps. */
export function Sparkline({ values, max, label, value }: { values: (number | null)[]; max: number; label: string; value: string }) {
  const n = values.length;
  const points: string[] = [];
  const segments: string[] = [];
  values.forEach((v, i) => {
    if (v === null || !Number.isFinite(v) || max <= 0) {
      if (points.length) segments.push(points.splice(0).join(" "));
      return;
    }
    const x = n <= 1 ? 100 : (i / (n - 1)) * 100;
    const y = 30 - Math.min(1, Math.max(0, v / max)) * 28 - 1;
    points.push(`${x.toFixed(2)},${y.toFixed(2)}`);
  });
  if (points.length) segments.push(points.join(" "));
  return (
    <figure className="spark" aria-label={`${label}: ${value}`}>
      <figcaption>
        <span>{label}</span>
        <strong>{value}</strong>
      </figcaption>
      <svg viewBox="0 0 100 30" preserveAspectRatio="none" role="img" aria-hidden="true">
        {segments.map((pts, i) => (
          <polyline key={i} points={pts} vectorEffect="non-scaling-stroke" />
        ))}
      </svg>
    </figure>
  );
}
