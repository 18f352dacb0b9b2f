/**
 * Bodies of the program and scoring routes, and their answers: a program (or the scoring model) is answered as the
 * body it was created with plus when, so each answer is its body's schema with that time added. Routes validate with
 * the bodies; schemas.ts registers the answers as components (`ReferralProgram`, `LoyaltyProgram`, `ScoringModel`).
 */

export const programKey = { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]{0,62}$' } as const;
export const eventType = { type: 'string', minLength: 1, maxLength: 200 } as const;
export const durationText = { type: 'string', maxLength: 64 } as const;
const dateTime = { type: 'string', format: 'date-time' } as const;

export const rewardValue = {
  type: ['object', 'number', 'string'],
  description: 'what the side receives, e.g. { "type": "credit", "amount": 10, "currency": "USD" } (passed on in reward.granted)',
} as const;

export const referralProgramBody = {
  type: 'object', additionalProperties: false, required: ['key', 'qualifying_event', 'referrer_reward', 'referee_reward'],
  properties: {
    key: programKey,
    qualifying_event: eventType,
    min_amount: { type: 'number', minimum: 0 },
    referrer_reward: rewardValue,
    referee_reward: rewardValue,
    review_period: durationText,
    void_event: eventType,
    max_rewards_per_referrer: { type: 'integer', minimum: 1 },
    cap_period: durationText,
  },
} as const;

export const loyaltyProgramBody = {
  type: 'object', additionalProperties: false, required: ['key', 'earn'],
  properties: {
    key: programKey,
    earn: {
      type: 'array', minItems: 1, maxItems: 100,
      items: {
        type: 'object', additionalProperties: false, required: ['event', 'points_per_unit'],
        properties: { event: eventType, points_per_unit: { type: 'number', exclusiveMinimum: 0, maximum: 1_000_000 }, property: { type: 'string', minLength: 1, maxLength: 200 } },
      },
    },
    expires_after: durationText,
    tier_window: durationText,
    tiers: {
      type: 'array', maxItems: 50,
      items: { type: 'object', additionalProperties: false, required: ['name', 'min_points'], properties: { name: { type: 'string', minLength: 1, maxLength: 100 }, min_points: { type: 'integer', minimum: 0 } } },
    },
  },
} as const;

export const scoringModelBody = {
  type: 'object', additionalProperties: false, required: ['rules'],
  properties: {
    rules: {
      type: 'array', maxItems: 200,
      items: {
        type: 'object', additionalProperties: false, required: ['event', 'points'],
        properties: {
          key: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_.:#-]{0,99}$' },
          event: { type: 'string', minLength: 1, maxLength: 200 },
          when: { type: 'object', description: 'a json-rules-engine condition over the event and the contact' },
          points: { type: 'number', minimum: -1_000_000, maximum: 1_000_000 },
          max_per_contact: { type: 'number', exclusiveMinimum: 0, maximum: 1_000_000_000 },
        },
      },
    },
    decay: { type: 'object', additionalProperties: false, required: ['half_life'], properties: { half_life: { type: 'string', maxLength: 64 } } },
    qualified_at: { type: 'number', minimum: -1_000_000_000, maximum: 1_000_000_000 },
    disqualified_at: { type: 'number', minimum: -1_000_000_000, maximum: 1_000_000_000 },
  },
} as const;

export const ReferralProgram = {
  $id: 'ReferralProgram', type: 'object', description: 'a referral program as created, and when',
  required: [...referralProgramBody.required, 'created_at'],
  properties: { ...referralProgramBody.properties, created_at: dateTime },
} as const;

export const LoyaltyProgram = {
  $id: 'LoyaltyProgram', type: 'object', description: 'a loyalty program as created, and when',
  required: [...loyaltyProgramBody.required, 'created_at'],
  properties: { ...loyaltyProgramBody.properties, created_at: dateTime },
} as const;

export const ScoringModel = {
  $id: 'ScoringModel', type: 'object', description: 'the lead-scoring model as last PUT, and when (no rules and a null time before the first PUT)',
  required: ['rules', 'updated_at'],
  properties: { ...scoringModelBody.properties, updated_at: { type: ['string', 'null'], format: 'date-time' } },
} as const;
