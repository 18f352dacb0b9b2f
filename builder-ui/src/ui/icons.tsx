/** The builder's small icon set (inline SVG, stroke style). Node icons are chosen by catalog category only. */
const PATHS: Record<string, string> = {
  flow: 'M5 4h6v4H5zM13 16h6v4h-6zM8 8v4h8v4',
  runs: 'M5 4l14 8-14 8z',
  contacts: 'M12 12a4 4 0 1 0 0-8 4 4 0 0 0 0 8zM4 20c0-4 4-6 8-6s8 2 8 6',
  plugin: 'M9 3v4M15 3v4M6 7h12v5a6 6 0 0 1-12 0zM12 18v3',
  trigger: 'M13 2L4 14h7l-1 8 9-12h-7z',
  logic: 'M6 3v6a6 6 0 0 0 6 6h0a6 6 0 0 1 6 6M18 3v6a6 6 0 0 1-6 6',
  timing: 'M12 7v5l3 3M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18z',
  action: 'M4 12h12M12 6l6 6-6 6',
  message: 'M3 6h18v12H3zM3 6l9 7 9-7',
  end: 'M6 6h12v12H6z',
  search: 'M11 18a7 7 0 1 0 0-14 7 7 0 0 0 0 14zM21 21l-5-5',
  undo: 'M9 14L4 9l5-5M4 9h11a5 5 0 0 1 0 10h-3',
  redo: 'M15 14l5-5-5-5M20 9H9a5 5 0 0 0 0 10h3',
  layout: 'M4 4h7v7H4zM13 13h7v7h-7zM11 7h5v6',
  fit: 'M4 9V4h5M20 9V4h-5M4 15v5h5M20 15v5h-5',
  trash: 'M4 7h16M10 11v6M14 11v6M6 7l1 13h10l1-13M9 7V4h6v3',
  copy: 'M8 8h12v12H8zM4 16V4h12',
  check: 'M4 12l5 5L20 6',
  close: 'M6 6l12 12M18 6L6 18',
  plus: 'M12 5v14M5 12h14',
  beaker: 'M9 3h6M10 3v6l-5 9a2 2 0 0 0 2 3h10a2 2 0 0 0 2-3l-5-9V3',
  pulse: 'M3 12h4l3-8 4 16 3-8h4',
  warn: 'M12 3l10 18H2zM12 10v5M12 18v.5',
  back: 'M15 5l-7 7 7 7',
  settings: 'M12 15a3 3 0 1 0 0-6 3 3 0 0 0 0 6zM12 2v3M12 19v3M2 12h3M19 12h3M4.9 4.9l2.1 2.1M17 17l2.1 2.1M4.9 19.1L7 17M17 7l2.1-2.1',
};

export function Icon({ name, size = 16, title }: { name: string; size?: number; title?: string }) {
  const d = PATHS[name] ?? PATHS.action;
  return (
    <svg
      width={size}
      height={size}
      viewBox="0 0 24 24"
      fill="none"
      stroke="currentColor"
      strokeWidth={2}
      strokeLinecap="round"
      strokeLinejoin="round"
      aria-hidden={title ? undefined : true}
      role={title ? 'img' : undefined}
      className="icon"
    >
      {title ? <title>{title}</title> : null}
      <path d={d} />
    </svg>
  );
}

/** Category → icon and colour. Anything unknown (e.g. a new plugin category) gets the neutral style. */
export function categoryStyle(category: string | undefined, type = ''): { icon: string; color: string; label: string } {
  const c = (category ?? '').toLowerCase();
  if (c.includes('trigger') || type.startsWith('trigger.')) return { icon: 'trigger', color: '#7048e8', label: 'Trigger' };
  if (c.includes('logic') || c.includes('branch') || c.includes('condition') || c.includes('flow') || c.includes('control'))
    return { icon: 'logic', color: '#e8590c', label: 'Logic' };
  if (c.includes('tim') || c.includes('wait') || c.includes('delay')) return { icon: 'timing', color: '#1098ad', label: 'Timing' };
  if (c.includes('message') || c.includes('email') || c.includes('channel') || c.includes('communic')) return { icon: 'message', color: '#d6336c', label: 'Messaging' };
  if (c.includes('plugin') || type.startsWith('plugin:')) return { icon: 'plugin', color: '#5c940d', label: 'Plugin' };
  if (c.includes('end') || c.includes('exit')) return { icon: 'end', color: '#495057', label: 'End' };
  return { icon: 'action', color: '#1c7ed6', label: category ? category[0].toUpperCase() + category.slice(1) : 'Action' };
}
