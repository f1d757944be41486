import { useNodesInitialized, useReactFlow, useStore } from "@xyflow/react";
import { useEffect, useRef } from "react";

export const FIT = { padding: 0.2, maxZoom: 1 };

const paneSized = (store) => store.width > 0 && store.height > 0;

/** Fits the graph in view once React Flow knows its pane's size and has measured the nodes (remount it to fit
 * again, e.g. after a reload). */
export function FitWhenMeasured({ options = FIT }) {
  const measured = useNodesInitialized();
  const sized = useStore(paneSized);
  const flow = useReactFlow();
  const done = useRef(false);
  useEffect(() => {
    if (measured && sized && !done.current) {
      done.current = true;
      requestAnimationFrame(() => flow.fitView(options));
    }
  }, [measured, sized, flow, options]);
  return null;
}
