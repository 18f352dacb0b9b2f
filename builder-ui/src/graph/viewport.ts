import type { Box } from './place.ts';

/** Below this zoom a card's 12–13 px text renders under ~9 px: hard to read at a normal viewing distance. */
export const READABLE_ZOOM = 0.7;
/**
 * Flows up to this many nodes open at a readable zoom (with panning for the rest); bigger ones open as an
 * overview (their text is drawn from 45 % zoom up, see the `.lod` class) so the whole shape is seen first.
 */
export const READABLE_MAX_NODES = 60;
const MAX_ZOOM = 1.1;
const PAD = 32;

/**
 * The viewport that fits `bounds` (the nodes' box) in a `view`-sized pane, never below READABLE_ZOOM for a flow
 * of up to READABLE_MAX_NODES nodes. Content that then does not fit is anchored at its top (where the trigger
 * is) and centred on `focusX` (the trigger's centre), so the flow reads from its start and pans down.
 */
export function readableViewport(bounds: Box, view: { width: number; height: number }, nodeCount: number, focusX: number): { x: number; y: number; zoom: number } {
  const fit = Math.min((view.width - 2 * PAD) / Math.max(1, bounds.width), (view.height - 2 * PAD) / Math.max(1, bounds.height));
  const min = nodeCount <= READABLE_MAX_NODES ? READABLE_ZOOM : 0.1;
  const zoom = Math.min(MAX_ZOOM, Math.max(min, fit));
  const fitsX = bounds.width * zoom <= view.width - 2 * PAD;
  const fitsY = bounds.height * zoom <= view.height - 2 * PAD;
  const x = fitsX ? (view.width - bounds.width * zoom) / 2 - bounds.x * zoom : view.width / 2 - focusX * zoom;
  const y = fitsY ? (view.height - bounds.height * zoom) / 2 - bounds.y * zoom : PAD - bounds.y * zoom;
  return { x, y, zoom };
}
