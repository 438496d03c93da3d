// What the filter does on a route: off = pass untouched, shadow = ask and
// annotate, enforce = ask and block. Shared by the plugin configuration and
// the filter snapshot (which names modes the same way). No host calls.

export enum RouteMode {
  OFF = 0,
  SHADOW = 1,
  ENFORCE = 2,
}

/** Mode names in configuration and snapshot JSON. */
export const MODE_NAMES = 'off | shadow | enforce';

export function modeName(mode: RouteMode): string {
  if (mode == RouteMode.ENFORCE) return 'enforce';
  if (mode == RouteMode.SHADOW) return 'shadow';
  return 'off';
}

/** The mode a name stands for, or -1 when it names none. */
export function parseModeName(name: string): i32 {
  if (name == 'off') return RouteMode.OFF;
  if (name == 'shadow') return RouteMode.SHADOW;
  if (name == 'enforce') return RouteMode.ENFORCE;
  return -1;
}
