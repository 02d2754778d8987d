/** A prompt as data: what the model is told, how it samples, how long it may answer. */
export interface PromptSpec<Input> {
  /** Names the task in logs and the Restate UI. */
  task: string;
  system: string;
  temperature: number;
  maxTokens: number;
  user(input: Input): string;
}
