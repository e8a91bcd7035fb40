// The search box: the query language with autocomplete of models, LoRAs, samplers and tags.

import { useEffect, useRef, useState, type KeyboardEvent } from "react";
import { get, withQuery } from "../../api/client";

const FIELDS = ["model", "lora", "sampler", "scheduler", "tag", "source"] as const;
type Field = (typeof FIELDS)[number];
interface Suggestion {
  value: string;
  count: number;
}

/** The `field:prefix` token under the caret, if it is one we can complete. */
function tokenAt(text: string, caret: number): { field: Field; prefix: string; start: number; end: number } | null {
  const start = text.lastIndexOf(" ", caret - 1) + 1;
  let end = text.indexOf(" ", caret);
  if (end < 0) end = text.length;
  const token = text.slice(start, end).replace(/^-/, "");
  const match = /^([a-z]+):(.*)$/.exec(token);
  if (!match || !(FIELDS as readonly string[]).includes(match[1])) return null;
  return { field: match[1] as Field, prefix: match[2].replace(/^"/, ""), start, end };
}

export function SearchBox({ value, onSearch }: { value: string; onSearch: (q: string) => void }) {
  const [text, setText] = useState(value);
  const [caret, setCaret] = useState(value.length);
  const [suggestions, setSuggestions] = useState<Suggestion[]>([]);
  const [active, setActive] = useState(0);
  const input = useRef<HTMLInputElement>(null);
  const token = tokenAt(text, caret);

  useEffect(() => setText(value), [value]);

  useEffect(() => {
    if (!token) {
      setSuggestions([]);
      return;
    }
    const ctl = new AbortController();
    const timer = window.setTimeout(() => {
      get<Suggestion[]>(withQuery("/api/media/suggest", { field: token.field, prefix: token.prefix, limit: 12 }), {
        signal: ctl.signal,
      })
        .then((s) => {
          setSuggestions(s.filter((x) => x.value));
          setActive(0);
        })
        .catch(() => setSuggestions([]));
    }, 120);
    return () => {
      window.clearTimeout(timer);
      ctl.abort();
    };
  }, [token?.field, token?.prefix]);

  const accept = (s: Suggestion) => {
    if (!token) return;
    const quoted = /[\s()"]/.test(s.value) ? `"${s.value.replace(/"/g, '\\"')}"` : s.value;
    const negated = text.slice(token.start, token.start + 1) === "-" ? "-" : "";
    const next = `${text.slice(0, token.start)}${negated}${token.field}:${quoted} ${text.slice(token.end).trimStart()}`;
    setText(next);
    setSuggestions([]);
    const pos = token.start + negated.length + token.field.length + 1 + quoted.length + 1;
    window.requestAnimationFrame(() => {
      input.current?.setSelectionRange(pos, pos);
      setCaret(pos);
    });
  };

  const onKey = (e: KeyboardEvent<HTMLInputElement>) => {
    if (suggestions.length && (e.key === "ArrowDown" || e.key === "ArrowUp")) {
      e.preventDefault();
      setActive((a) => (a + (e.key === "ArrowDown" ? 1 : suggestions.length - 1)) % suggestions.length);
    } else if (suggestions.length && (e.key === "Tab" || (e.key === "Enter" && token))) {
      e.preventDefault();
      accept(suggestions[active]);
    } else if (e.key === "Enter") {
      setSuggestions([]);
      onSearch(text.trim());
    } else if (e.key === "Escape") {
      setSuggestions([]);
    }
  };

  return (
    <div className="media-search">
      <input
        ref={input}
        type="search"
        aria-label="Search media"
        placeholder='castle lora:detail steps>=20 -tag:rejected (sampler:euler OR sampler:dpm) date>=2026-11-01'
        value={text}
        spellCheck={false}
        onChange={(e) => {
          setText(e.target.value);
          setCaret(e.target.selectionStart ?? e.target.value.length);
        }}
        onKeyUp={(e) => setCaret((e.target as HTMLInputElement).selectionStart ?? 0)}
        onClick={(e) => setCaret((e.target as HTMLInputElement).selectionStart ?? 0)}
        onKeyDown={onKey}
      />
      <QueryHelp />
      {suggestions.length > 0 && (
        <ul className="media-suggest" role="listbox" aria-label="Suggestions">
          {suggestions.map((s, i) => (
            <li
              key={s.value}
              role="option"
              aria-selected={i === active}
              className={i === active ? "active" : ""}
              onMouseDown={(e) => {
                e.preventDefault();
                accept(s);
              }}
            >
              <span>{s.value}</span>
              <span className="muted">{s.count}</span>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

// The query language at a glance (the same as `lorapilot media search --help`, from query.QUERY_HELP).
const HELP: [string, string][] = [
  ['castle "blue hair" cast*', "words and phrases in the positive prompt; word* is a prefix"],
  ["桜 東京 少女", "Chinese, Japanese, Korean: any part of two or more characters; one character finds every prompt with it"],
  ["neg:blurry", "the negative prompt"],
  ["model: sampler: scheduler: path: name: format: hash:", "substring; field=value is exact"],
  ["lora:detail  lora=add_detail", "a LoRA name containing…; = ignores folder and extension (SD1.5\\add_detail.safetensors)"],
  ["seed:123 steps>=20 cfg<7 denoise<0.5 size>2MB duration>3", "numbers take = != > >= < <="],
  ["width>=1024 height<2048", "the file's pixel size (after hires fix and upscaling)"],
  ["gen:832x1216 genwidth>=1024 genheight<1500", "the generation size, before hires fix and upscaling (A1111 Size, ComfyUI first-pass latent)"],
  ["source:comfyui tag:x fav:yes type:video has:workflow date>=2026-11-01 in:trash", "filters"],
  ["a OR b   NOT x   -x   ( … )", "terms are ANDed unless OR; NOT or - excludes; parentheses group"],
];

function QueryHelp() {
  return (
    <details className="media-query-help">
      <summary aria-label="Search help">?</summary>
      <dl>
        {HELP.map(([term, meaning]) => (
          <div key={term}>
            <dt>
              <code>{term}</code>
            </dt>
            <dd>{meaning}</dd>
          </div>
        ))}
      </dl>
    </details>
  );
}
