import { useCallback } from 'react';
import { useReactFlow } from '@xyflow/react';
import type { CanvasNode } from '../graph/document.ts';
import { readableViewport } from '../graph/viewport.ts';

/** "Zoom to fit" that keeps text readable: see `readableViewport`. Returns false when there is nothing to fit yet. */
export function useFitReadable(): (opts?: { duration?: number }) => boolean {
  const rf = useReactFlow<CanvasNode>();
  return useCallback(
    (opts = {}) => {
      const nodes = rf.getNodes();
      const pane = document.querySelector('.canvas .react-flow')?.getBoundingClientRect();
      if (!nodes.length || !pane?.width) return false;
      const bounds = rf.getNodesBounds(nodes);
      const top = nodes.reduce((a, n) => (n.position.y < a.position.y ? n : a));
      const focusX = top.position.x + (top.measured?.width ?? 220) / 2;
      void rf.setViewport(readableViewport(bounds, pane, nodes.length, focusX), { duration: opts.duration });
      return true;
    },
    [rf],
  );
}
