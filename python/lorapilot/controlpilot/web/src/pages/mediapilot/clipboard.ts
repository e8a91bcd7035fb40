// Copy text to the clipboard. The Clipboard API exists only on secure pages (https or localhost);
// ControlPilot opened over plain HTTP at a LAN address has none, where a selected textarea and
// execCommand("copy") still work. Returns whether the text was copied, so the page never claims it was when not.

export async function copyText(text: string): Promise<boolean> {
  if (navigator.clipboard) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch {
      // refused (no permission, page not focused): try the old way below
    }
  }
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.style.position = "fixed";
  area.style.opacity = "0";
  document.body.appendChild(area);
  area.select();
  try {
    return document.execCommand("copy");
  } catch {
    return false;
  } finally {
    area.remove();
  }
}
