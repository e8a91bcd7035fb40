import type { PageProps } from "../types";
import { JobView } from "./JobView";
import { NewTraining } from "./NewTraining";
import { QueueView } from "./QueueView";
import "./train.css";

/** TrainPilot: the queue (/train), the guided new-training flow (/train/new), one job (/train/jobs/<id>). */
export default function TrainPage({ subpath }: PageProps) {
  if (subpath === "new") return <NewTraining />;
  const job = /^jobs\/(\d+)$/.exec(subpath);
  if (job) return <JobView jobId={Number(job[1])} />;
  return <QueueView />;
}
