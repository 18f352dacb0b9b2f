/** A node's box on the canvas, in flow coordinates. */
export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Space kept between a placed node and its neighbours, so cards and their handle labels never touch. */
const GAP = 40;

const overlaps = (a: Box, b: Box) =>
  a.x < b.x + b.width + GAP && b.x < a.x + a.width + GAP && a.y < b.y + b.height + GAP && b.y < a.y + a.height + GAP;

/**
 * Where a node added from the palette goes: below `anchor` (the selected node) when there is one, else at
 * `fallback` (the centre of the view); if that spot is taken it tries the next columns right and left of it,
 * then the next rows down, until the new box overlaps no existing box. Positions are on the 10 px grid.
 */
export function freeSpot(size: { width: number; height: number }, existing: Box[], anchor: Box | null, fallback: { x: number; y: number }): { x: number; y: number } {
  const snap = (v: number) => Math.round(v / 10) * 10;
  const start = anchor
    ? { x: anchor.x + anchor.width / 2 - size.width / 2, y: anchor.y + anchor.height + 2 * GAP }
    : { x: fallback.x - size.width / 2, y: fallback.y - size.height / 2 };
  const stepX = size.width + GAP;
  const stepY = size.height + GAP;
  for (let row = 0; row < 200; row++) {
    for (const col of [0, 1, -1, 2, -2, 3, -3]) {
      const spot = { x: snap(start.x + col * stepX), y: snap(start.y + row * stepY), ...size };
      if (!existing.some((b) => overlaps(spot, b))) return { x: spot.x, y: spot.y };
    }
  }
  // Two hundred rows of crowded canvas: below everything, which is always free.
  return { x: snap(start.x), y: snap(Math.max(...existing.map((b) => b.y + b.height)) + 2 * GAP) };
}
