// The Copilot drawer's calls: /api/copilot/* (ControlPilot proxies them to the sidecar).

import { ApiError, readableDetail, UNAUTHORIZED_EVENT } from "../../api/client";

export type CopilotState = "ready" | "busy" | "sidecar_not_running" | "cli_not_installed" | "no_token" | "disabled";

export interface CopilotStatus {
  state: CopilotState;
  message: string;
  sidecar: { url: string; running: boolean; error?: string };
  token: { configured: boolean; source: string | null };
  cli?: { installed: boolean; path: string | null; version: string | null; error: string | null; install_hint: string | null };
  cwd?: string;
  default_cwd?: string;
  busy?: boolean;
  permit_allow_all?: boolean;
}

export interface ChatRequest {
  prompt: string;
  cwd?: string;
  allow_tools?: string[];
  model?: string;
  conversation_id?: string;
  stream: true;
}

export interface ChatResult {
  id: number;
  conversation_id: string;
  cwd: string;
  started_at: number;
  stdout: string;
  stderr: string;
  exit_code: number | null;
  duration_s: number;
  status: "ok" | "error" | "timeout" | "cancelled";
  timed_out: boolean;
  truncated: boolean;
}

export interface HistoryEntry {
  id: number;
  conversation_id: string;
  prompt: string;
  answer: string;
  stderr: string;
  exit_code: number | null;
  status: string;
  cwd: string;
  model: string | null;
  started_at: number;
  duration_s: number | null;
}

export interface Conversation {
  conversation_id: string;
  messages: number;
  started_at: number;
  last_at: number;
  title: string;
}

export type ChatEvent =
  | { kind: "start"; data: { id: number; conversation_id: string; cwd: string; started_at: number; timeout_s: number } }
  | { kind: "output"; data: { stream: "stdout" | "stderr"; text: string } }
  | { kind: "end"; data: ChatResult };

/** POST a chat and read its Server-Sent Events as they arrive (EventSource cannot POST). */
export async function streamChat(body: ChatRequest, onEvent: (e: ChatEvent) => void, signal?: AbortSignal): Promise<void> {
  const resp = await fetch("/api/copilot/chat", {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
    body: JSON.stringify(body),
    credentials: "same-origin",
    signal,
  });
  if (!resp.ok || !resp.body) {
    if (resp.status === 401) window.dispatchEvent(new Event(UNAUTHORIZED_EVENT));
    const text = await resp.text().catch(() => "");
    let detail: unknown;
    try {
      detail = JSON.parse(text).detail;
    } catch {
      detail = text;
    }
    throw new ApiError(resp.status, readableDetail(detail, `chat failed: ${resp.status}`), detail);
  }
  const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let cut: number;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      let kind = "message";
      const data: string[] = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) kind = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
      }
      if (data.length) onEvent({ kind, data: JSON.parse(data.join("\n")) } as ChatEvent);
    }
  }
}

/** What a delete or clear answers: restoring `batch` undoes it as a whole. */
export interface DeleteResult {
  batch: string | null;
  deleted: number;
  kept_running?: number;
}

export interface TrashedEntry extends HistoryEntry {
  deleted_at: number;
  deleted_batch: string;
}
