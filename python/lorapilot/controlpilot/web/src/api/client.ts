// The typed API client: every call goes through `api()`, which turns FastAPI
// errors ({"detail": ...}) into an ApiError with a readable message.

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly detail?: unknown,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/** Fired on `window` when the API answers 401: the app shows the login page. */
export const UNAUTHORIZED_EVENT = "lp:unauthorized";

type ValidationItem = { loc?: (string | number)[]; msg?: string };

/** A one-line message from FastAPI's `detail` (a string, or pydantic's list of field errors). */
export function readableDetail(detail: unknown, fallback: string): string {
  if (typeof detail === "string" && detail) return detail;
  if (Array.isArray(detail)) {
    const parts = (detail as ValidationItem[]).map((item) => {
      const where = (item.loc ?? []).filter((p) => p !== "body" && p !== "query" && p !== "path").join(".");
      return where ? `${where}: ${item.msg ?? "invalid"}` : (item.msg ?? "invalid");
    });
    if (parts.length) return parts.join("; ");
  }
  if (detail && typeof detail === "object") return JSON.stringify(detail);
  return fallback;
}

/** The message to show for any error thrown by a call. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

export interface RequestOptions {
  signal?: AbortSignal;
  headers?: Record<string, string>;
  /** Do not announce a 401 (the login page's own calls). */
  quiet401?: boolean;
}

async function toError(resp: Response, method: string, path: string): Promise<ApiError> {
  const fallback = `${method} ${path} failed: ${resp.status} ${resp.statusText}`.trim();
  let detail: unknown;
  const text = await resp.text().catch(() => "");
  try {
    detail = JSON.parse(text).detail;
  } catch {
    detail = text && text.length < 300 && !text.trimStart().startsWith("<") ? text : undefined;
  }
  return new ApiError(resp.status, readableDetail(detail, fallback), detail);
}

/** Call the API; resolves with the parsed JSON body (undefined for 204). */
export async function api<T>(method: string, path: string, body?: unknown, opts: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json", ...opts.headers };
  let payload: BodyInit | undefined;
  if (body instanceof Blob || body instanceof FormData) {
    payload = body;
  } else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  let resp: Response;
  try {
    resp = await fetch(path, { method, headers, body: payload, credentials: "same-origin", signal: opts.signal });
  } catch (err) {
    if (err instanceof DOMException && err.name === "AbortError") throw err;
    throw new ApiError(0, `cannot reach ControlPilot (${errorMessage(err)})`);
  }
  if (!resp.ok) {
    if (resp.status === 401 && !opts.quiet401) window.dispatchEvent(new Event(UNAUTHORIZED_EVENT));
    throw await toError(resp, method, path);
  }
  if (resp.status === 204) return undefined as T;
  const type = resp.headers.get("content-type") ?? "";
  return (type.includes("json") ? await resp.json() : await resp.text()) as T;
}

export const get = <T>(path: string, opts?: RequestOptions) => api<T>("GET", path, undefined, opts);
export const post = <T>(path: string, body?: unknown, opts?: RequestOptions) => api<T>("POST", path, body, opts);
export const del = <T>(path: string, opts?: RequestOptions) => api<T>("DELETE", path, undefined, opts);

/** `path?key=value&...`, skipping undefined values. */
export function withQuery(path: string, params: Record<string, string | number | boolean | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) q.set(k, String(v));
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

/** Upload a file as the raw request body (streamed by the browser), with progress. */
export function upload<T>(path: string, file: Blob, onProgress?: (sent: number, total: number) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", path);
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    xhr.upload.onprogress = (e) => onProgress?.(e.loaded, e.total);
    xhr.onerror = () => reject(new ApiError(0, "upload failed: cannot reach ControlPilot"));
    xhr.onload = () => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(xhr.responseText);
      } catch {
        parsed = undefined;
      }
      if (xhr.status >= 200 && xhr.status < 300) return resolve(parsed as T);
      if (xhr.status === 401) window.dispatchEvent(new Event(UNAUTHORIZED_EVENT));
      const detail = (parsed as { detail?: unknown } | undefined)?.detail;
      reject(new ApiError(xhr.status, readableDetail(detail, `upload failed: ${xhr.status} ${xhr.statusText}`), detail));
    };
    xhr.send(file);
  });
}
