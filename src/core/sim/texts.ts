/**
 * The words of the simulated users. A learner only ever sees the text (never the hidden intent or
 * difficulty), so the text must carry a usable but imperfect signal: every intent has several
 * phrasings per language, harder requests tend to be longer and use words like "förklara",
 * "steg för steg" or "pros and cons", and slots (cities, numbers, topics) make the texts varied.
 * Tool cue words occur as real users write them, which is what trips up Alice's keyword heuristic.
 */
import type { Rng } from '../rng.js';
import type { Intent, LangGroup } from './vocabulary.js';

/** A phrasing: `{slot}` placeholders, a difficulty level (0 easy, 1 medium, 2 hard) and a weight. */
interface Template {
  readonly t: string;
  readonly level: 0 | 1 | 2;
  readonly w: number;
}

const SV_SLOTS: Readonly<Record<string, readonly string[]>> = {
  city: ['Stockholm', 'Göteborg', 'Malmö', 'Uppsala', 'Umeå', 'Luleå', 'Kiruna', 'Visby', 'Lund', 'Örebro', 'Västerås', 'Linköping', 'Jönköping', 'Sundsvall'],
  day: ['idag', 'imorgon', 'i helgen', 'på fredag', 'nästa vecka', 'ikväll', 'på lördag'],
  topic: ['kvantdatorer', 'klimatförändringarna', 'inflationen', 'fotosyntesen', 'elbilar', 'Romarrikets fall', 'riksdagens arbete', 'blockkedjor', 'mRNA-vaccin', 'AI-förordningen', 'kärnkraft', 'bolåneräntor', 'svarta hål', 'pensionssystemet'],
  pair: ['elbil och hybridbil', 'hyresrätt och bostadsrätt', 'Python och TypeScript', 'indexfonder och aktier', 'tåg och flyg till Berlin', 'värmepump och fjärrvärme'],
  thing: ['en bra pizzeria', 'billiga flygbiljetter till London', 'öppettider för apoteket', 'recept på kanelbullar', 'en elektriker', 'lediga tvättider', 'en tandläkare med akuttider', 'begagnade cyklar'],
  phrase: ['Var ligger tågstationen?', 'Jag är allergisk mot nötter.', 'Tack för hjälpen!', 'Kan jag få notan?', 'Hur mycket kostar det?', 'Mitt tåg är försenat.', 'Vi ses imorgon klockan nio.'],
  target: ['engelska', 'tyska', 'franska', 'spanska', 'finska', 'norska'],
  form: ['dikt', 'novell', 'sångtext', 'haiku', 'limerick', 'saga'],
  subject: ['hösten', 'en katt som heter Måns', 'havet', 'Stockholm i regn', 'kärlek', 'måndagsmorgnar', 'midsommar'],
  person: ['mamma', 'chefen', 'hyresvärden', 'min granne', 'läraren'],
  a: ['12', '48', '256', '1 250', '37', '999', '84', '3,5'],
  b: ['7', '19', '64', '12', '250', '4', '0,25'],
  pct: ['5', '12', '15', '25', '30', '7,5'],
};

const EN_SLOTS: Readonly<Record<string, readonly string[]>> = {
  city: ['Stockholm', 'Gothenburg', 'Malmö', 'Uppsala', 'London', 'Berlin', 'Oslo', 'Copenhagen', 'Helsinki'],
  day: ['today', 'tomorrow', 'this weekend', 'on Friday', 'next week', 'tonight'],
  topic: ['quantum computing', 'climate change', 'inflation', 'photosynthesis', 'electric cars', 'the fall of Rome', 'blockchains', 'nuclear power', 'machine learning', 'interest rates', 'black holes'],
  pair: ['an electric car and a hybrid', 'renting and buying a flat', 'Python and TypeScript', 'index funds and single stocks', 'train and plane to Berlin'],
  thing: ['a good pizza place', 'cheap flights to London', 'pharmacy opening hours', 'a cinnamon bun recipe', 'an electrician', 'a dentist with emergency slots'],
  phrase: ['Where is the train station?', 'I am allergic to nuts.', 'Thank you for your help!', 'Can I have the bill, please?', 'How much does it cost?'],
  target: ['Swedish', 'German', 'French', 'Spanish', 'Finnish'],
  form: ['poem', 'short story', 'song', 'haiku', 'limerick'],
  subject: ['autumn', 'a cat called Max', 'the sea', 'Stockholm in the rain', 'love', 'Monday mornings'],
  person: ['my boss', 'my landlord', 'my neighbour', 'the teacher'],
  a: ['12', '48', '256', '1,250', '37', '999', '84'],
  b: ['7', '19', '64', '12', '250', '4'],
  pct: ['5', '12', '15', '25', '30'],
};

const T = (t: string, level: 0 | 1 | 2, w = 1): Template => ({ t, level, w });

/** Swedish phrasings per intent. */
const SV: Readonly<Record<Intent, readonly Template[]>> = {
  greeting: [
    T('Hej!', 0, 3), T('Hej Alice', 0, 2), T('God morgon', 0, 2), T('Tjena, hur mår du?', 0, 2), T('Hallå där', 0),
    T('Tack så mycket!', 0, 2), T('God kväll Alice, hur har din dag varit?', 1), T('Hej hej, tack för senast', 0),
    T('Hej! Jag är ny här, vad trevligt att prata med dig', 1),
    T('God morgon! Hur fungerar det här med dig egentligen, kan du förklara lite kort vad du gör och varför du finns?', 1),
  ],
  weather: [
    T('Vad blir vädret i {city} {day}?', 0, 3), T('Hur varmt är det i {city}?', 0, 2), T('Kommer det att regna {day}?', 0, 2),
    T('Vädret {day}', 0, 2), T('Behöver jag paraply i {city} {day}?', 1), T('Vad är temperaturen här ute just nu?', 0),
    T('Vad säger prognosen för {city} nästa vecka, blir det snö?', 1, 2), T('Varför blir vädret så kallt i {city} {day}?', 0), T('Visa väderprognosen för {city} {day}', 1),
    T('Var i närheten är det soligt {day}? Jag vill åka ut med barnen', 2),
    T('Jämför vädret i {city} och Visby {day} och rekommendera vart vi ska åka', 2),
  ],
  calculation: [
    T('Vad är {a} + {b}?', 0, 2), T('{a} gånger {b}', 0, 2), T('Räkna ut {pct} procent av {a}', 0, 2),
    T('Hur mycket är {a} delat med {b}?', 0), T('Beräkna momsen på {a} kronor', 1, 2),
    T('Lös ekvationen 3x + {b} = {a}', 1, 2), T('Vad blir {a} kronor med {pct} procents ränta i 5 år?', 1),
    T('Räkna ut månadskostnaden för ett lån på {a} 000 kr med {pct} procent ränta och förklara beräkningen steg för steg', 2),
    T('Derivera x^3 - {b}x och förklara varför svaret blir så', 2),
    T('Förklara hur mycket {pct} procent av {a} är', 0, 2), T('Beräkna {a} gånger {b}', 0, 2),
  ],
  search: [
    T('Sök efter {thing}', 0, 3), T('Hitta {thing} i {city}', 0, 2), T('Kan du leta upp {thing}?', 0, 2),
    T('Sök nyheter om {topic}', 1, 2), T('Visa webbsidan för Systembolaget i {city}', 1),
    T('Jag behöver hitta {thing} som har öppet {day}, kan du söka?', 1),
    T('Sök efter {thing} i {city} och sammanfatta omdömena', 2), T('Hitta länken till ansökan på www.csn.se', 1),
  ],
  complex_query: [
    T('Förklara {topic}', 1, 3), T('Varför är {topic} så omdiskuterat?', 1, 2), T('Hur fungerar {topic}?', 1, 2),
    T('Jämför {pair}', 2, 2), T('Vad är skillnaden mellan {pair}?', 1, 2),
    T('Analysera för- och nackdelar med {topic} och ge en rekommendation', 2, 2),
    T('Sammanfatta det viktigaste om {topic} i tre punkter', 1, 2),
    T('Kan du förklara {topic} på ett enkelt sätt för en tolvåring?', 1),
    T('Jag funderar på {pair}. Vilket är bäst för en familj med två barn i {city}, och varför?', 2, 2),
    T('Ge en detaljerad genomgång av {topic}: historik, nuläge och vad experterna tror om framtiden', 2),
    T('Vad är {topic}?', 0, 2),
    T('Hur kommer det sig att {topic} väcker så starka känslor?', 1, 2), T('Vad beror det på att {topic} är så svårt att förstå? Ge mig gärna källor.', 2),
    T('Reda ut {topic} åt mig, med källor', 1),
  ],
  time: [
    T('Vad är klockan?', 0, 4), T('Hur mycket är klockan nu?', 0, 2), T('Vilket datum är det idag?', 0, 2),
    T('Vilken vecka är det?', 0), T('Vad är klockan i New York just nu?', 1), T('Hur länge är det kvar till midsommar?', 1),
  ],
  help: [
    T('Hjälp', 0, 2), T('Vad kan du göra?', 0, 3), T('Hur använder jag dig?', 0, 2), T('Vilka funktioner har du?', 0),
    T('Kan du hjälpa mig med något?', 0), T('Jag förstår inte hur jag ska ställa in påminnelser, kan du hjälpa mig?', 1),
    T('Hur ändrar jag språk i appen?', 1), T('Förklara vad du kan hjälpa till med', 0, 2), T('Hur fungerar du egentligen?', 0),
    T('Visa vad du kan göra', 0),
  ],
  translation: [
    T('Översätt "{phrase}" till {target}', 0, 3), T('Hur säger man "{phrase}" på {target}?', 0, 2),
    T('Vad betyder "{phrase}" på {target}?', 0), T('Översätt det här till {target}, jag vet inte vilket språk det är: "Dziękuję bardzo"', 1),
    T('Kan du hjälpa mig med språket i "{phrase}" på {target}?', 1),
    T('Översätt det här mejlet till {target}: "Hej, jag kan tyvärr inte komma på mötet {day}. Kan vi flytta det?"', 1, 2),
    T('Översätt till {target} och behåll en formell ton: "{phrase} {phrase}"', 2),
    T('Förklara vad "{phrase}" betyder på {target}', 0, 2),
  ],
  creative: [
    T('Skriv en {form} om {subject}', 1, 3), T('Kan du skriva en kort {form} om {subject}?', 0, 2),
    T('Skriv ett mejl till {person} om att jag blir sen', 1, 2), T('Hitta på en {form} om {subject} för barn', 1),
    T('Skapa en rolig text till ett födelsedagskort till {person}', 1),
    T('Skriv en lång {form} om {subject} med en oväntad vändning i slutet, gärna på rim', 2, 2),
    T('Skriv ett tal till {person} som fyller 50, personligt och lite roligt', 2),
  ],
  other: [
    T('Jaha', 0, 2), T('Okej', 0, 2), T('Berätta ett skämt', 0, 2), T('Vem är du egentligen?', 0),
    T('Påminn mig om att ringa {person} {day}', 1), T('Spela lite musik', 0), T('Vad tycker du om {topic}?', 1),
    T('Boka ett bord för fyra i {city} {day}', 1), T('Varför heter du Alice?', 0, 2), T('Berätta varför du är så glad idag', 0),
  ],
};

/** English phrasings per intent. */
const EN: Readonly<Record<Intent, readonly Template[]>> = {
  greeting: [T('Hi!', 0, 3), T('Hello Alice', 0, 2), T('Good morning', 0, 2), T('Hey, how are you?', 0, 2), T('Thanks a lot!', 0), T('Good evening, how was your day?', 1)],
  weather: [
    T('What is the weather in {city} {day}?', 0, 3), T('Will it rain {day}?', 0, 2), T('How warm is it in {city}?', 0),
    T('Show the forecast for {city} next week, will it snow?', 1), T('Where near me is it sunny {day}?', 2),
  ],
  calculation: [
    T('What is {a} + {b}?', 0, 2), T('{a} times {b}', 0), T('Calculate {pct} percent of {a}', 0, 2), T('Solve 3x + {b} = {a}', 1, 2),
    T('Calculate the monthly payment on a {a} 000 loan at {pct} percent and explain each step', 2),
  ],
  search: [T('Search for {thing}', 0, 3), T('Find {thing} in {city}', 0, 2), T('Search news about {topic}', 1), T('Find {thing} in {city} and summarise the reviews', 2)],
  complex_query: [
    T('Explain {topic}', 1, 3), T('Why is {topic} so controversial?', 1, 2), T('How does {topic} work?', 1, 2), T('Compare {pair}', 2, 2),
    T('Analyse the pros and cons of {topic} and recommend what I should do', 2), T('What is {topic}?', 0, 2),
    T('Give me a detailed overview of {topic}: history, current state and what experts expect', 2),
  ],
  time: [T('What time is it?', 0, 4), T('What is the date today?', 0, 2), T('What time is it in Tokyo right now?', 1)],
  help: [T('Help', 0, 2), T('What can you do?', 0, 3), T('How do I use you?', 0), T('How do I change the language in the app?', 1), T('Explain what you can do', 0)],
  translation: [
    T('Translate "{phrase}" into {target}', 0, 3), T('How do you say "{phrase}" in {target}?', 0, 2),
    T('Translate this, I do not know what language it is: "Dziękuję bardzo"', 1), T('Translate this email into {target}: "I cannot make it to the meeting {day}, can we move it?"', 1),
  ],
  creative: [
    T('Write a {form} about {subject}', 1, 3), T('Can you write a short {form} about {subject}?', 0, 2), T('Write an email to {person} saying I will be late', 1),
    T('Write a long {form} about {subject} with a twist at the end, rhyming if possible', 2),
  ],
  other: [T('Ok', 0, 2), T('Tell me a joke', 0, 2), T('Who are you really?', 0), T('Remind me to call {person} {day}', 1), T('Why are you called Alice?', 0)],
};

/** A few phrasings in other languages (Norwegian, German, Finnish, Spanish), per intent. */
const OTHER: Readonly<Record<Intent, readonly (Template & { lang: string })[]>> = {
  greeting: [{ ...T('Hei! Hvordan går det?', 0), lang: 'no' }, { ...T('Hallo, guten Morgen', 0), lang: 'de' }, { ...T('Moi!', 0), lang: 'fi' }, { ...T('¡Hola!', 0), lang: 'es' }],
  weather: [{ ...T('Hvordan blir været i {city} i morgen?', 0), lang: 'no' }, { ...T('Wie wird das Wetter in {city}?', 0), lang: 'de' }, { ...T('Millainen sää on huomenna?', 0), lang: 'fi' }],
  calculation: [{ ...T('Was ist {a} mal {b}?', 0), lang: 'de' }, { ...T('Paljonko on {a} plus {b}?', 0), lang: 'fi' }],
  search: [{ ...T('Finn {thing} i {city}', 1), lang: 'no' }, { ...T('Suche nach {thing}', 1), lang: 'de' }],
  complex_query: [
    { ...T('Kannst du mir {topic} ausführlich erklären und mit Beispielen vergleichen?', 2), lang: 'de' },
    { ...T('Forklar hvorfor {topic} er viktig', 1), lang: 'no' }, { ...T('¿Por qué es importante {topic}? Explícalo en detalle', 2), lang: 'es' },
  ],
  time: [{ ...T('Wie spät ist es?', 0), lang: 'de' }, { ...T('Hva er klokka?', 0), lang: 'no' }],
  help: [{ ...T('Was kannst du?', 0), lang: 'de' }, { ...T('Mitä osaat tehdä?', 0), lang: 'fi' }],
  translation: [{ ...T('Übersetze "{phrase}" ins Deutsche', 0), lang: 'de' }, { ...T('Oversett "{phrase}" til norsk', 0), lang: 'no' }],
  creative: [{ ...T('Schreib ein Gedicht über {subject}', 1), lang: 'de' }, { ...T('Escribe un poema sobre {subject}', 1), lang: 'es' }],
  other: [{ ...T('Ja ja', 0), lang: 'no' }, { ...T('Erzähl mir einen Witz', 0), lang: 'de' }],
};

/**
 * Phrasings per intent by level: index 0-2 the phrasings at that level (or, when none, at the
 * nearest level), index 3 all of them.
 */
type Levels = readonly [readonly Template[], readonly Template[], readonly Template[], readonly Template[]];

function byLevel(pool: Readonly<Record<Intent, readonly Template[]>>): Record<Intent, Levels> {
  const out = {} as Record<Intent, Levels>;
  for (const intent of Object.keys(pool) as Intent[]) {
    const all = pool[intent];
    const at = (l: number): readonly Template[] => {
      const exact = all.filter((p) => p.level === l);
      if (exact.length > 0) return exact;
      const near = all.filter((p) => Math.abs(p.level - l) === 1);
      return near.length > 0 ? near : all;
    };
    out[intent] = [at(0), at(1), at(2), all];
  }
  return out;
}

const SV_BY_LEVEL = byLevel(SV);
const EN_BY_LEVEL = byLevel(EN);

const PREFIX_SV = ['', '', '', '', 'Hej! ', 'Alice, ', 'Snälla, ', 'Hej Alice, ', 'Du, '];
const SUFFIX_SV = ['', '', '', '', ' tack', ' Tack!', ' 🙂'];
const PREFIX_EN = ['', '', '', 'Hey, ', 'Alice, ', 'Please, '];
const SUFFIX_EN = ['', '', '', ' thanks', ' please'];

function pick<T>(rng: Rng, xs: readonly T[]): T {
  return xs[rng.int(xs.length)]!;
}

function pickWeighted<T extends { readonly w: number }>(rng: Rng, xs: readonly T[]): T {
  let total = 0;
  for (const x of xs) total += x.w;
  let u = rng.next() * total;
  for (const x of xs) {
    u -= x.w;
    if (u < 0) return x;
  }
  return xs[xs.length - 1]!;
}

/** A template split into literal text and slot names (even indices literal, odd indices slots). */
const partsMemo = new Map<string, readonly string[]>();

function partsOf(t: string): readonly string[] {
  let p = partsMemo.get(t);
  if (p === undefined) {
    p = t.split(/\{(\w+)\}/);
    partsMemo.set(t, p);
  }
  return p;
}

function fill(rng: Rng, t: string, slots: Readonly<Record<string, readonly string[]>>): string {
  const parts = partsOf(t);
  let out = parts[0]!;
  for (let i = 1; i < parts.length; i += 2) {
    const k = parts[i]!;
    const xs = slots[k] ?? SV_SLOTS[k];
    out += (xs === undefined ? k : pick(rng, xs)) + parts[i + 1]!;
  }
  return out;
}

/** A generated request text with its observable language code and the phrasing's level. */
export interface GeneratedText {
  text: string;
  /** Language code as Alice logs it: `sv`, `en`, or another code (`no`, `de`, `fi`, `es`). */
  lang: string;
  /** Difficulty level of the chosen phrasing (0 easy, 1 medium, 2 hard). */
  level: 0 | 1 | 2;
}

/**
 * A text for a request of this intent and hidden difficulty. The phrasing's level follows the
 * difficulty most of the time (so difficulty is partly recoverable from words), not always.
 */
export function generateText(rng: Rng, intent: Intent, group: LangGroup, difficulty: number): GeneratedText {
  const want: 0 | 1 | 2 = difficulty < 0.4 ? 0 : difficulty < 0.7 ? 1 : 2;
  if (group === 'other') {
    const tpl = pickWeighted(rng, OTHER[intent]);
    return { text: fill(rng, tpl.t, EN_SLOTS), lang: tpl.lang, level: tpl.level };
  }
  const byLevel = (group === 'sv' ? SV_BY_LEVEL : EN_BY_LEVEL)[intent];
  // Prefer phrasings at the wanted level (80 %), else any phrasing: the signal is real but noisy.
  const tpl = pickWeighted(rng, rng.next() < 0.8 ? byLevel[want] : byLevel[3]);
  const slots = group === 'sv' ? SV_SLOTS : EN_SLOTS;
  let text = fill(rng, tpl.t, slots);
  const pre = pick(rng, group === 'sv' ? PREFIX_SV : PREFIX_EN);
  const suf = pick(rng, group === 'sv' ? SUFFIX_SV : SUFFIX_EN);
  if (pre !== '' && intent !== 'greeting') text = pre + text.charAt(0).toLowerCase() + text.slice(1);
  if (suf !== '' && intent !== 'greeting') text = text + suf;
  if (difficulty > 0.85 && tpl.level === 2 && rng.next() < 0.5) {
    text += group === 'sv' ? pick(rng, [' Var gärna utförlig.', ' Ta med källor.', ' Resonera steg för steg.']) : pick(rng, [' Please be thorough.', ' Include sources.', ' Reason step by step.']);
  }
  // People type fast: a lower-case start and a dropped question mark now and then.
  const r = rng.next();
  if (r < 0.2) text = text.charAt(0).toLowerCase() + text.slice(1);
  else if (r < 0.3 && text.endsWith('?')) text = text.slice(0, -1);
  return { text, lang: group, level: tpl.level };
}

/** Exposed for tests: every template, so that a test can check the router on each phrasing. */
export const TEMPLATES = { sv: SV, en: EN, other: OTHER } as const;
