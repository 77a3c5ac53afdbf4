/** Whose directives apply to us: our own product token, and the AI-training crawlers we stand in for. */

export interface RightsTokens {
  /** Our User-Agent product token, lower case (robots.ts userAgentToken). */
  ours: string;
  /** Lower-case tokens of AI-training crawlers (AI_CRAWLER_TOKENS): a reservation against them is one against AI training. */
  ai: readonly string[];
}

/** The default AI_CRAWLER_TOKENS: crawlers that collect training data, as their operators document them. */
export const DEFAULT_AI_CRAWLER_TOKENS = [
  'GPTBot', 'CCBot', 'Google-Extended', 'ClaudeBot', 'anthropic-ai', 'Applebot-Extended', 'Bytespider',
  'meta-externalagent', 'cohere-training-data-crawler', 'img2dataset',
] as const;

export function rightsTokens(ours: string, ai: readonly string[]): RightsTokens {
  return { ours: ours.toLowerCase(), ai: [...new Set(ai.map((t) => t.trim().toLowerCase()).filter(Boolean))] };
}

/** A directive scoped to `name` applies to us when it names us or an AI-training crawler. */
export function scopeApplies(name: string, tokens: RightsTokens): boolean {
  const n = name.toLowerCase();
  return n === tokens.ours || tokens.ai.includes(n);
}
