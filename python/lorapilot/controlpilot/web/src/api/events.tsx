// Live updates over Server-Sent Events.
//
// <EventsProvider> keeps ONE EventSource on /api/events for the whole app
// (browsers allow only ~6 connections per host). Pages subscribe with
// useEvent(name, handler) or read the latest payload with useLatestEvent(name).
// useEventSource(url, handlers) opens a dedicated stream (e.g. a log follow).

import { createContext, useContext, useEffect, useRef, useState, useSyncExternalStore, type ReactNode } from "react";

export type ConnectionState = "connecting" | "open" | "retrying";

type Handler = (data: unknown) => void;

/** An event's data: JSON when it parses, else the raw text. */
function parseData(e: Event): unknown {
  const raw = (e as MessageEvent).data;
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

class EventBus {
  private handlers = new Map<string, Set<Handler>>();
  private latest = new Map<string, unknown>();
  private stateListeners = new Set<() => void>();
  state: ConnectionState = "connecting";
  private source: EventSource | null = null;
  private retryTimer: number | undefined;
  private retryDelay = 1000;
  private closed = false;

  constructor(private url: string) {}

  start(): void {
    this.closed = false;
    this.connect();
  }

  stop(): void {
    this.closed = true;
    window.clearTimeout(this.retryTimer);
    this.source?.close();
    this.source = null;
  }

  private setState(state: ConnectionState): void {
    this.state = state;
    this.stateListeners.forEach((l) => l());
  }

  private connect(): void {
    const source = new EventSource(this.url, { withCredentials: true });
    this.source = source;
    this.setState("connecting");
    source.onopen = () => {
      this.retryDelay = 1000;
      this.setState("open");
    };
    source.onerror = () => {
      // The browser retries by itself unless the server refused (e.g. 401): then reconnect ourselves.
      if (source.readyState === EventSource.CLOSED && !this.closed) {
        source.close();
        this.setState("retrying");
        this.retryTimer = window.setTimeout(() => this.connect(), this.retryDelay);
        this.retryDelay = Math.min(this.retryDelay * 2, 30000);
      } else if (!this.closed) {
        this.setState("retrying");
      }
    };
    for (const name of this.handlers.keys()) this.listen(name);
  }

  private listeners = new Map<string, EventSource>();

  private listen(name: string): void {
    const source = this.source;
    if (!source || this.listeners.get(name) === source) return;
    this.listeners.set(name, source);
    source.addEventListener(name, (e) => {
      const data = parseData(e);
      this.latest.set(name, data);
      this.handlers.get(name)?.forEach((h) => h(data));
    });
  }

  subscribe(name: string, handler: Handler): () => void {
    if (!this.handlers.has(name)) this.handlers.set(name, new Set());
    this.handlers.get(name)!.add(handler);
    this.listen(name);
    return () => this.handlers.get(name)?.delete(handler);
  }

  latestOf(name: string): unknown {
    return this.latest.get(name);
  }

  onState(listener: () => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }
}

const BusContext = createContext<EventBus | null>(null);

export function EventsProvider({ url = "/api/events", children }: { url?: string; children: ReactNode }) {
  const [bus] = useState(() => new EventBus(url));
  useEffect(() => {
    bus.start();
    return () => bus.stop();
  }, [bus]);
  return <BusContext.Provider value={bus}>{children}</BusContext.Provider>;
}

function useBus(): EventBus {
  const bus = useContext(BusContext);
  if (!bus) throw new Error("useEvent needs <EventsProvider> above it");
  return bus;
}

/** Call `handler` for every `name` event on /api/events. */
export function useEvent<T>(name: string, handler: (data: T) => void): void {
  const bus = useBus();
  const ref = useRef(handler);
  ref.current = handler;
  useEffect(() => bus.subscribe(name, (d) => ref.current(d as T)), [bus, name]);
}

/** The latest `name` event's data (undefined until the first one arrives). */
export function useLatestEvent<T>(name: string): T | undefined {
  const bus = useBus();
  const [value, setValue] = useState<T | undefined>(() => bus.latestOf(name) as T | undefined);
  useEffect(() => {
    setValue(bus.latestOf(name) as T | undefined);
    return bus.subscribe(name, (d) => setValue(d as T));
  }, [bus, name]);
  return value;
}

/** Whether the live stream is connected (for the frame's indicator). */
export function useConnectionState(): ConnectionState {
  const bus = useBus();
  return useSyncExternalStore(
    (cb) => bus.onState(cb),
    () => bus.state,
  );
}

/** A dedicated EventSource on `url` (null: closed). `handlers` maps event names to callbacks. */
export function useEventSource(url: string | null, handlers: Record<string, (data: unknown) => void>): ConnectionState {
  const [state, setState] = useState<ConnectionState>("connecting");
  const ref = useRef(handlers);
  ref.current = handlers;
  const names = Object.keys(handlers).sort().join(",");
  useEffect(() => {
    if (!url) return;
    const source = new EventSource(url, { withCredentials: true });
    setState("connecting");
    source.onopen = () => setState("open");
    source.onerror = () => setState("retrying");
    for (const name of names.split(",").filter(Boolean)) {
      source.addEventListener(name, (e) => ref.current[name]?.(parseData(e)));
    }
    return () => source.close();
  }, [url, names]);
  return state;
}
