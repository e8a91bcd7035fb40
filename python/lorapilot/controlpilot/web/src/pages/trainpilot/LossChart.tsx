/** The loss curve as an SVG polyline (no chart library). */
export function LossChart({ points }: { points: { step: number; loss: number | null }[] }) {
  const data = points.filter((p) => p.loss !== null && Number.isFinite(p.loss)) as { step: number; loss: number }[];
  if (data.length < 2) return <p className="muted">The loss curve appears after a few steps.</p>;
  const W = 600, H = 180, PAD = 36;
  const minStep = data[0].step, maxStep = data[data.length - 1].step;
  const losses = data.map((p) => p.loss);
  const lo = Math.min(...losses), hi = Math.max(...losses);
  const x = (s: number) => PAD + ((s - minStep) / Math.max(1, maxStep - minStep)) * (W - PAD - 8);
  const y = (l: number) => 8 + (1 - (l - lo) / Math.max(1e-12, hi - lo)) * (H - PAD);
  const line = data.map((p) => `${x(p.step).toFixed(1)},${y(p.loss).toFixed(1)}`).join(" ");
  return (
    <svg className="loss-chart" viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`loss from ${hi.toFixed(4)} to ${losses[losses.length - 1].toFixed(4)}`} data-testid="loss-chart">
      <line x1={PAD} y1={H - PAD + 8} x2={W - 8} y2={H - PAD + 8} className="axis" />
      <line x1={PAD} y1={8} x2={PAD} y2={H - PAD + 8} className="axis" />
      <text x={2} y={14} className="tick">{hi.toPrecision(3)}</text>
      <text x={2} y={H - PAD + 8} className="tick">{lo.toPrecision(3)}</text>
      <text x={PAD} y={H - 8} className="tick">{minStep}</text>
      <text x={W - 8} y={H - 8} className="tick" textAnchor="end">step {maxStep}</text>
      <polyline points={line} className="curve" fill="none" />
    </svg>
  );
}
