import { useEffect } from "react";
import { post } from "../../api/client";
import { ErrorBanner } from "../../components/ErrorBanner";
import { useAction, useApi } from "../../hooks/useApi";
import { base } from "./api";

/** Images a check excluded (kept in .tagpilot/excluded/, out of training), each with Include to bring it back. */
export default function ExcludedList({ name, nonce, onChanged }: { name: string; nonce: number; onChanged: () => void }) {
  const excluded = useApi<{ images: string[] }>(`${base(name)}/excluded`);
  const action = useAction();
  const { reload } = excluded;
  useEffect(() => {
    if (nonce) reload();
  }, [nonce, reload]);
  const include = (images: string[]) =>
    action.run(() => post(`${base(name)}/excluded/include`, { images })).then(() => {
      reload();
      onChanged();
    });
  const images = excluded.data?.images ?? [];
  return (
    <details className="tp-excluded" open={images.length > 0}>
      <summary>Excluded: {images.length}</summary>
      <ErrorBanner message={excluded.error ?? action.error} onClose={action.clearError} />
      <ul aria-label="Excluded images">
        {images.map((image) => (
          <li key={image} className="tp-row">
            <span>{image}</span>
            <button onClick={() => void include([image])} disabled={action.busy}>Include</button>
          </li>
        ))}
      </ul>
      {images.length > 1 && <button onClick={() => void include(images)} disabled={action.busy}>Include all</button>}
    </details>
  );
}
