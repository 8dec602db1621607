/** Putting back what a run deleted, from its undo journal (filled in below). */
export interface RestoreOp {
  kind: 'restore';
  repository: string;
}
