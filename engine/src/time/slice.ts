/**
 * The engine's time slicing (see the SDK host's slice.ts): re-exported so the executor, Liquid renders and the
 * plugin sandbox host share one slice clock in the process.
 */
export { breathe, SLICE_MS } from '@cairn/plugin-sdk/host';
