import { useEffect, useLayoutEffect, useMemo, useRef, useState, type ReactNode } from "react";
import { useEventSource } from "../../api/events";

const MAX_LINES = 5000;

/** A service's log, following live over SSE, with search. */
export function LogViewer({ name }: { name: string }) {
  const [lines, setLines] = useState<string[]>([]);
  const [query, setQuery] = useState("");
  const [follow, setFollow] = useState(true);
  const box = useRef<HTMLPreElement>(null);

  useEffect(() => setLines([]), [name]);
  const state = useEventSource(`/api/services/${encodeURIComponent(name)}/logs/stream?tail=500`, {
    lines: (data) => {
      const d = data as { lines: string[]; initial?: boolean };
      setLines((current) => (d.initial ? d.lines : [...current, ...d.lines]).slice(-MAX_LINES));
    },
  });

  const needle = query.trim().toLowerCase();
  const shown = useMemo(() => (needle ? lines.filter((l) => l.toLowerCase().includes(needle)) : lines), [lines, needle]);

  useLayoutEffect(() => {
    if (follow && box.current) box.current.scrollTop = box.current.scrollHeight;
  }, [shown, follow]);

  return (
    <section className="log-viewer" aria-label={`Log of ${name}`}>
      <div className="log-tools">
        <input type="search" placeholder="Search the log" aria-label="Search the log" value={query} onChange={(e) => setQuery(e.target.value)} />
        <label className="check">
          <input type="checkbox" checked={follow} onChange={(e) => setFollow(e.target.checked)} /> Follow
        </label>
        <span className={`live ${state}`} title={`stream: ${state}`} />
        <span className="muted count">{needle ? `${shown.length} of ${lines.length} lines` : `${lines.length} lines`}</span>
      </div>
      <pre
        ref={box}
        className="log-lines"
        data-testid="log-lines"
        onScroll={(e) => {
          const el = e.currentTarget;
          const atBottom = el.scrollHeight - el.scrollTop - el.clientHeight < 8;
          if (!atBottom && follow) setFollow(false);
        }}
      >
        {shown.length === 0 ? <span className="muted">{lines.length ? "No line matches." : "No log lines yet."}</span> : shown.map((l, i) => <Line key={i} text={l} needle={needle} />)}
      </pre>
    </section>
  );
}

function Line({ text, needle }: { text: string; needle: string }) {
  if (!needle) return <div>{text || " "}</div>;
  const parts: ReactNode[] = [];
  const lower = text.toLowerCase();
  let at = 0;
  for (let i = lower.indexOf(needle); i >= 0; i = lower.indexOf(needle, at)) {
    parts.push(text.slice(at, i), <mark key={i}>{text.slice(i, i + needle.length)}</mark>);
    at = i + needle.length;
  }
  parts.push(text.slice(at));
  return <div>{parts}</div>;
}
