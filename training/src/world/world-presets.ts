/**
 * Named simulator worlds for closed-loop runs: `default` is the world the
 * committed model was trained on; `small` is a quick one (150 SKUs, 10
 * nodes, handling within 6 minutes, so every promise resolves soon and
 * the drain is short), for tests and a first look.
 */
import type { SimConfigInput } from '../simulator/sim-config.js';

const QUICK_HANDLING_H: readonly [number, number] = [0.05, 0.1];

export const WORLD_PRESETS = {
  default: {} as SimConfigInput,
  small: {
    skuCount: 150,
    nodes: {
      warehouse: { count: 2, handlingHours: QUICK_HANDLING_H },
      store: { count: 5, handlingHours: QUICK_HANDLING_H },
      seller: { count: 3, handlingHours: QUICK_HANDLING_H },
    },
  } as SimConfigInput,
} as const;

export type WorldPresetName = keyof typeof WORLD_PRESETS;
export const WORLD_PRESET_NAMES = Object.keys(WORLD_PRESETS) as WorldPresetName[];

export function isWorldPresetName(name: string): name is WorldPresetName {
  return (WORLD_PRESET_NAMES as string[]).includes(name);
}
