/** Types for `cluster-key-slot` (the slot function ioredis itself uses), which ships none. */
declare module "cluster-key-slot" {
  /** The cluster slot (0–16383) of a key or channel, honouring its `{hash tag}`. */
  export default function calculateSlot(key: string | Buffer): number;
}
