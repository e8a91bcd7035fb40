// Shapes of the API's JSON (mirrors the pydantic models in controlpilot/routers).

export type ServiceState =
  | "running" | "starting" | "stopping" | "stopped" | "exited" | "failed" | "disabled" | "not_installed" | "unknown";

export interface Service {
  name: string;
  title: string;
  category: string;
  state: ServiceState;
  ready: boolean | null;
  pid: number | null;
  restarts: number;
  uptime_s: number | null;
  memory_bytes: number | null;
  exit_code: number | null;
  port: number;
  url_path: string;
  url?: string;
  installed: boolean;
  install_hint: string | null;
}

export interface ServicesResponse {
  backend: string | null;
  running: boolean;
  message: string | null;
  updated_at: number;
  services: Service[];
}

export interface SessionInfo {
  authenticated: boolean;
  auth_required: boolean;
  password_set: boolean;
  via: string | null;
}

export interface Task {
  id: string;
  kind: string;
  title: string;
  state: "queued" | "running" | "done" | "failed" | "cancelled";
  current: number;
  total: number | null;
  message: string;
  error: string | null;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
}
