import { useEffect, useState } from "react";

function current() {
  return document.documentElement.getAttribute("data-theme") === "dark" ? "dark" : "light";
}

/** The app's DaisyUI theme (light/dark), following the page's theme toggle. */
export function useColorMode() {
  const [mode, setMode] = useState(current);
  useEffect(() => {
    const observer = new MutationObserver(() => setMode(current()));
    observer.observe(document.documentElement, { attributes: true, attributeFilter: ["data-theme"] });
    return () => observer.disconnect();
  }, []);
  return mode;
}
