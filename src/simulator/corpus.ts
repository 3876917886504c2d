// The demo's built-in knowledge: help-centre passages of a made-up product ("Northwind Cloud"), the questions users
// ask about them, and canned answers for calls that carry no knowledge. The production traffic style puts passages in
// its prompts (RAG) and builds answers from their sentences, so a grounding check has real evidence to judge.
// ASCII only: answers travel to the simulator in a header.

export interface Passage {
  id: string;
  title: string;
  /** One fact per sentence; answers are made of these. */
  sentences: readonly string[];
  /** Questions a user asks that this passage answers, each with the index of the sentence that answers it. */
  questions: readonly (readonly [string, number])[];
}

export const PRODUCT = 'Northwind Cloud';

export const PASSAGES: readonly Passage[] = [
  {
    id: 'kb-plans',
    title: 'Plans and pricing',
    sentences: [
      'The Starter plan costs 19 dollars per month and includes 3 projects.',
      'The Team plan costs 49 dollars per user per month and includes unlimited projects.',
      'The Enterprise plan adds single sign-on, audit logs and a dedicated account manager.',
      'Annual billing gives a discount of 15 percent on every plan.',
    ],
    questions: [
      ['How much does the Team plan cost?', 1],
      ['What is included in the Starter plan?', 0],
      ['Is there a discount for paying yearly?', 3],
    ],
  },
  {
    id: 'kb-sla',
    title: 'Service level agreement',
    sentences: [
      'Northwind Cloud guarantees 99.95 percent monthly uptime on the Team and Enterprise plans.',
      'If uptime falls below the guarantee, customers receive a service credit of 10 percent of the monthly fee.',
      'Credits must be requested within 30 days of the incident.',
      'Scheduled maintenance is announced 72 hours in advance and does not count as downtime.',
    ],
    questions: [
      ['What uptime does Northwind Cloud guarantee?', 0],
      ['How do I get a credit after an outage?', 1],
      ['Does maintenance count against the SLA?', 3],
    ],
  },
  {
    id: 'kb-regions',
    title: 'Data regions',
    sentences: [
      'Northwind Cloud runs data centers in Frankfurt, Dublin, Virginia and Singapore.',
      'Customers choose a region when they create a project, and data never leaves that region.',
      'Moving a project to another region takes about 4 hours and requires a support ticket.',
      'The Frankfurt and Dublin regions are certified under ISO 27001.',
    ],
    questions: [
      ['Where are your data centers?', 0],
      ['Can I move my project to another region?', 2],
      ['Which regions are ISO 27001 certified?', 3],
    ],
  },
  {
    id: 'kb-backups',
    title: 'Backups and restore',
    sentences: [
      'Databases are backed up every 6 hours and backups are kept for 14 days.',
      'Enterprise customers can extend backup retention to 90 days.',
      'A restore creates a new database and leaves the original untouched.',
      'Restoring a database of 100 gigabytes usually takes about 20 minutes.',
    ],
    questions: [
      ['How often are databases backed up?', 0],
      ['How long are backups kept?', 0],
      ['How long does a restore take?', 3],
    ],
  },
  {
    id: 'kb-support',
    title: 'Support hours',
    sentences: [
      'Support is available by chat and email from 8 am to 8 pm Central European Time on weekdays.',
      'Enterprise customers get phone support around the clock.',
      'The first response time is 4 hours on the Team plan and 1 hour on the Enterprise plan.',
      'Urgent incidents can be reported through the status page at any time.',
    ],
    questions: [
      ['When can I reach support?', 0],
      ['How fast does support answer on the Team plan?', 2],
      ['Is there phone support?', 1],
    ],
  },
  {
    id: 'kb-limits',
    title: 'API rate limits',
    sentences: [
      'The API allows 600 requests per minute per project on the Team plan.',
      'The Starter plan is limited to 60 requests per minute.',
      'Requests over the limit receive HTTP status 429 with a Retry-After header.',
      'Enterprise customers can ask for higher limits through their account manager.',
    ],
    questions: [
      ['What are the API rate limits?', 0],
      ['What happens when I exceed the rate limit?', 2],
      ['Can the rate limit be raised?', 3],
    ],
  },
  {
    id: 'kb-sso',
    title: 'Single sign-on',
    sentences: [
      'Single sign-on supports SAML 2.0 and OpenID Connect.',
      'Okta, Azure Active Directory and Google Workspace have ready-made setup guides.',
      'Users are provisioned automatically through SCIM when SSO is enabled.',
      'Single sign-on is available on the Enterprise plan only.',
    ],
    questions: [
      ['Which identity providers work with SSO?', 1],
      ['Is SSO available on the Team plan?', 3],
      ['Can users be provisioned automatically?', 2],
    ],
  },
  {
    id: 'kb-refunds',
    title: 'Refunds and cancellation',
    sentences: [
      'Monthly plans can be cancelled at any time and stay active until the end of the billing period.',
      'Annual plans are refundable within 14 days of purchase.',
      'Refunds are paid to the original payment method within 5 business days.',
      'Deleted projects can be recovered for 7 days after cancellation.',
    ],
    questions: [
      ['Can I get a refund on an annual plan?', 1],
      ['What happens to my projects when I cancel?', 3],
      ['How long does a refund take?', 2],
    ],
  },
  {
    id: 'kb-storage',
    title: 'Object storage',
    sentences: [
      'Object storage is priced at 2 cents per gigabyte per month.',
      'Each object can be up to 5 terabytes in size.',
      'Outbound traffic is free for the first 100 gigabytes each month.',
      'Objects can be versioned, and old versions are deleted after 30 days by default.',
    ],
    questions: [
      ['How much does object storage cost?', 0],
      ['What is the largest object I can upload?', 1],
      ['Is outbound traffic free?', 2],
    ],
  },
  {
    id: 'kb-security',
    title: 'Security and encryption',
    sentences: [
      'All data is encrypted at rest with AES-256 and in transit with TLS 1.3.',
      'Customers on the Enterprise plan can bring their own encryption keys.',
      'Northwind Cloud runs an external penetration test twice a year.',
      'Security reports can be sent to the security team, which answers within 2 business days.',
    ],
    questions: [
      ['How is my data encrypted?', 0],
      ['Can I use my own encryption keys?', 1],
      ['How often do you run penetration tests?', 2],
    ],
  },
  {
    id: 'kb-deploys',
    title: 'Deployments',
    sentences: [
      'Every push to the main branch triggers a deployment when automatic deploys are enabled.',
      'A deployment keeps the previous version running until the new one passes its health check.',
      'Rollbacks to any of the last 10 deployments take less than a minute.',
      'Build minutes are included up to 500 per month on the Team plan.',
    ],
    questions: [
      ['How do rollbacks work?', 2],
      ['How many build minutes are included?', 3],
      ['Does a deployment cause downtime?', 1],
    ],
  },
  {
    id: 'kb-gpu',
    title: 'GPU instances',
    sentences: [
      'GPU instances use NVIDIA H100 cards with 80 gigabytes of memory each.',
      'A GPU instance costs 2.49 dollars per hour and is billed per second.',
      'GPU instances are available in the Virginia and Frankfurt regions.',
      'Quotas start at 8 GPUs per project and can be raised on request.',
    ],
    questions: [
      ['Which GPUs do you offer?', 0],
      ['How much does a GPU instance cost?', 1],
      ['In which regions can I get GPUs?', 2],
    ],
  },
];

/** Names no passage mentions, for answers that invent an entity. */
export const INVENTED_NAMES: readonly string[] = ['Lisbon', 'Toronto', 'Osaka', 'Kestrel', 'Meridian', 'Halcyon'];

/** Short prompts with no knowledge attached, and answers to them (nothing to ground: quality says `unknown`). */
export const SMALL_TALK: readonly { prompt: string; answer: string }[] = [
  {
    prompt: 'Write a friendly greeting for our newsletter.',
    answer: 'Hello and welcome back! We are glad you are here.',
  },
  {
    prompt: 'Suggest a name for a project board.',
    answer: 'How about "Launch Pad"? It is short and easy to remember.',
  },
  { prompt: 'Rewrite this more politely: send it now.', answer: 'Could you please send it when you have a moment?' },
  {
    prompt: 'Give me a title for a blog post about teamwork.',
    answer: 'Better Together: Small Habits of Great Teams.',
  },
  { prompt: 'Translate "thank you" into German.', answer: 'Danke.' },
];

/** Code-review prompts (a diff, little prose) and the comments a model leaves. */
export const CODE_REVIEWS: readonly { diff: string; answer: string }[] = [
  {
    diff: '- if (user) {\n+ if (user && user.active) {',
    answer: 'The extra check looks right. Consider a test for an inactive user.',
  },
  {
    diff: '- for (let i = 0; i <= items.length; i++)\n+ for (let i = 0; i < items.length; i++)',
    answer: 'Good catch: the old loop read one element past the end.',
  },
  {
    diff: '+ const timeout = 30000;\n+ await fetch(url, { signal: AbortSignal.timeout(timeout) });',
    answer: 'Adding a timeout is good. Maybe read it from config instead of a constant.',
  },
];

/** Tools the support assistant may call instead of answering, with arguments a user's question leads to. */
export const TOOLS: readonly { name: string; description: string; ask: string; arguments: string }[] = [
  {
    name: 'lookup_invoice',
    description: 'Find an invoice by its number',
    ask: 'Why is invoice INV-20931 higher than last month?',
    arguments: '{"invoice_id":"INV-20931"}',
  },
  {
    name: 'get_project_status',
    description: 'Current health of a project',
    ask: 'Is my project web-shop down right now?',
    arguments: '{"project":"web-shop"}',
  },
  {
    name: 'open_ticket',
    description: 'Open a support ticket',
    ask: 'Please move my project analytics to Dublin.',
    arguments: '{"subject":"Move project analytics to Dublin","priority":"normal"}',
  },
];
