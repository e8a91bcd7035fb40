import type { PageProps } from "../types";
import { JobView } from "./JobView";
import { NewTraining } from "./NewTraining";
import { QueueView } from "./QueueView";
import "./train.css";

/** TrainPilot: the queue (/trainpilot), the guided new-training flow (/trainpilot/new), one job (/trainpilot/jobs/<id>). */
export default function TrainPage({ subpath }: PageProps) {
  if (subpath === "new") return <NewTraining />;
  const job = /^jobs\/(\d+)$/.exec(subpath);
  if (job) return <JobView jobId={Number(job[1])} />;
  return <QueueView />;
}
