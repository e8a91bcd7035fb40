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
  restart_reason?: string | null;
  restarted_at?: number | null;
  port: number;
  url_path: string;
  url?: string | null;
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

export interface GpuProcess {
  pid: number;
  name: string | null;
  used_memory_bytes: number | null;
  component: string | null;
}

export interface Gpu {
  index: number;
  name: string;
  uuid: string | null;
  utilization_pct: number | null;
  memory_used_bytes: number | null;
  memory_total_bytes: number | null;
  temperature_c: number | null;
  power_w: number | null;
  power_limit_w: number | null;
  processes: GpuProcess[];
}

export interface SystemSnapshot {
  time: number;
  host: {
    cpu_percent: number;
    cpu_count: number;
    load_avg: number[];
    memory_total_bytes: number;
    memory_used_bytes: number;
    memory_available_bytes: number;
    cgroup: {
      version: number | null;
      memory_limit_bytes: number | null;
      memory_used_bytes: number | null;
      cpu_limit_cores: number | null;
    };
    disk: { path: string; total_bytes: number; used_bytes: number; free_bytes: number } | null;
  };
  gpus: Gpu[];
  gpu_reason: string | null;
  driver_version: string | null;
  driver_warning: string | null; // the host driver is older than the CUDA stack needs
}

export interface SystemHistory {
  interval_s: number;
  t: (number | null)[];
  cpu: (number | null)[];
  ram_used: (number | null)[];
  ram_total: (number | null)[];
  gpus: { util: (number | null)[]; vram_used: (number | null)[]; vram_total: (number | null)[] }[];
}

export interface FileEntry {
  name: string;
  path: string;
  kind: "dir" | "file" | "link" | "other";
  size: number | null;
  mtime: number;
  is_symlink: boolean;
  protected: boolean;
}

export interface Listing {
  path: string;
  parent: string | null;
  entries: FileEntry[];
  total: number;
  truncated: boolean;
}

export interface TrashItem {
  id: string;
  original: string;
  name: string;
  is_dir: boolean;
  size: number;
  deleted_at: number;
  source: string;
}
