// A small virtualised grid: only the rows in view (plus a margin) are in the DOM,
// so 100k items scroll as smoothly as 100. Fixed-size square tiles keep the maths trivial.

import { useEffect, useLayoutEffect, useRef, useState, type ReactNode } from "react";

interface Props<T> {
  items: T[];
  tile: number; // tile edge in px
  gap?: number;
  overscanRows?: number;
  render: (item: T, index: number) => ReactNode;
  onNearEnd?: () => void; // called when the last rows come into view (load the next page)
  scrollToIndex?: number | null;
}

export function VirtualGrid<T>({ items, tile, gap = 8, overscanRows = 3, render, onNearEnd, scrollToIndex }: Props<T>) {
  const box = useRef<HTMLDivElement>(null);
  const [size, setSize] = useState({ width: 800, height: 600 });
  const [scrollTop, setScrollTop] = useState(0);

  useLayoutEffect(() => {
    const el = box.current;
    if (!el) return;
    const measure = () => setSize({ width: el.clientWidth, height: el.clientHeight });
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(el);
    return () => observer.disconnect();
  }, []);

  const columns = Math.max(1, Math.floor((size.width + gap) / (tile + gap)));
  const rowHeight = tile + gap;
  const rows = Math.ceil(items.length / columns);
  const first = Math.max(0, Math.floor(scrollTop / rowHeight) - overscanRows);
  const last = Math.min(rows, Math.ceil((scrollTop + size.height) / rowHeight) + overscanRows);

  useEffect(() => {
    if (onNearEnd && items.length && last >= rows - overscanRows) onNearEnd();
  }, [last, rows, items.length, onNearEnd, overscanRows]);

  useEffect(() => {
    const el = box.current;
    if (el == null || scrollToIndex == null || scrollToIndex < 0) return;
    const top = Math.floor(scrollToIndex / columns) * rowHeight;
    if (top < el.scrollTop || top + rowHeight > el.scrollTop + el.clientHeight) el.scrollTop = top - rowHeight;
  }, [scrollToIndex, columns, rowHeight]);

  const cells: ReactNode[] = [];
  for (let row = first; row < last; row++) {
    for (let col = 0; col < columns; col++) {
      const index = row * columns + col;
      if (index >= items.length) break;
      cells.push(
        <div
          key={index}
          className="vgrid-cell"
          style={{ transform: `translate(${col * (tile + gap)}px, ${row * rowHeight}px)`, width: tile, height: tile }}
        >
          {render(items[index], index)}
        </div>,
      );
    }
  }
  return (
    <div
      ref={box}
      className="vgrid"
      data-testid="media-grid"
      onScroll={(e) => setScrollTop((e.target as HTMLDivElement).scrollTop)}
    >
      <div className="vgrid-space" style={{ height: rows * rowHeight }}>
        {cells}
      </div>
    </div>
  );
}
