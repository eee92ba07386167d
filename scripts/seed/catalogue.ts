/**
 * The demo shop (`npm run seed`): a small homeware and outdoor shop. Sixty products in six
 * categories, priced in euros, each with its stock (two sold out, one discontinued); two accounts;
 * five orders, one in each state of the lifecycle. Products carry no category field: the category
 * is the SKU's prefix and the first words of the description, so `?search=kitchen` finds them.
 */

export interface Category {
  /** SKU prefix. */
  code: string;
  name: string;
  /** The motif its product pictures show (scripts/seed/images.ts). */
  motif: "mug" | "bean" | "house" | "notebook" | "mountain" | "shirt";
  /** Base colour of its pictures (hue in degrees). */
  hue: number;
}

export interface DemoProduct {
  sku: string;
  name: string;
  description: string;
  priceCents: number;
  stock: number;
  active: boolean;
  category: Category;
}

export const CATEGORIES = {
  kitchen: { code: "KIT", name: "Kitchen", motif: "mug", hue: 18 },
  brew: { code: "BRW", name: "Coffee & tea", motif: "bean", hue: 30 },
  home: { code: "HOM", name: "Home", motif: "house", hue: 200 },
  paper: { code: "PAP", name: "Stationery", motif: "notebook", hue: 45 },
  outdoor: { code: "OUT", name: "Outdoor", motif: "mountain", hue: 140 },
  apparel: { code: "APP", name: "Apparel", motif: "shirt", hue: 265 },
} as const satisfies Record<string, Category>;

type Row = [slug: string, name: string, description: string, euros: number, stock: number, active?: boolean];

const ROWS: Record<keyof typeof CATEGORIES, Row[]> = {
  kitchen: [
    ["MUG-350", "Stoneware mug", "350 ml, reactive glaze, dishwasher safe.", 14.9, 120],
    ["POT-12", "Enamel coffee pot", "1.2 litres, for the stove or the campfire.", 39, 35],
    ["KNIFE-20", "Chef's knife", "20 cm blade of Japanese VG-10 steel, walnut handle.", 89, 18],
    ["BOARD-OL", "Olive wood board", "Cut from one piece, about 35 × 20 cm; oil it now and then.", 34.5, 40],
    ["SKILLET-26", "Cast iron skillet", "26 cm, pre-seasoned, lasts a lifetime.", 49, 25],
    ["TOWEL-2", "Linen tea towels", "Set of two, stonewashed linen.", 22, 80],
    ["JARS-3", "Glass storage jars", "Set of three with beech lids: 0.5, 1 and 1.5 litres.", 29, 60],
    ["DRIP-02", "Pour-over dripper", "Porcelain, size 02, for one to four cups.", 24, 45],
    ["SPOONS-CU", "Copper measuring spoons", "Four spoons from ¼ teaspoon to 1 tablespoon.", 19.5, 0],
    ["UTENSIL-5", "Bamboo utensil set", "Five pieces: spatula, spoon, slotted spoon, tongs, whisk.", 17, 70],
  ],
  brew: [
    ["ETH-250", "Ethiopia Yirgacheffe beans", "Single origin, washed; jasmine and apricot. 250 g.", 12.5, 200],
    ["ESP-1K", "House espresso blend", "Brazil and Guatemala, chocolate and hazelnut. 1 kg.", 32, 90],
    ["DECAF-250", "Colombia decaf beans", "Sugar-cane processed, caramel sweetness. 250 g.", 11.9, 75],
    ["SENCHA-100", "Sencha green tea", "First flush from Shizuoka. 100 g loose leaf.", 14, 50],
    ["EARL-100", "Earl Grey", "Ceylon black tea with bergamot oil. 100 g loose leaf.", 9.5, 110],
    ["ROOIBOS-100", "Vanilla rooibos", "Caffeine-free, with real vanilla pieces. 100 g.", 8.9, 65],
    ["MATCHA-30", "Ceremonial matcha", "Stone-ground in Uji. 30 g tin.", 26, 30],
    ["CHAI-80", "Chai spice blend", "Assam with cardamom, cinnamon, ginger and clove. 80 g.", 10.5, 55],
    ["COLD-6", "Cold brew bags", "Pack of six, one litre each.", 15, 0],
    ["CUP-TEST", "Tasting cups", "Set of four porcelain cupping bowls.", 21, 20, false],
  ],
  home: [
    ["THROW-WL", "Wool throw", "130 × 180 cm, lambswool, herringbone weave.", 79, 22],
    ["CUSHION-50", "Linen cushion cover", "50 × 50 cm, hidden zip, washable.", 25, 64],
    ["CANDLE-BW", "Beeswax candle", "Hand-poured pillar, about 40 hours of light.", 16, 150],
    ["VASE-CER", "Ceramic vase", "Matte white, 24 cm tall.", 38, 28],
    ["BATH-TWL", "Cotton bath towel", "70 × 140 cm, 600 g/m² organic cotton.", 29, 85],
    ["SHELF-OAK", "Oak wall shelf", "80 cm, solid oak, hidden brackets included.", 69, 14],
    ["BASKET-RT", "Rattan basket", "Hand-woven, 40 cm across, for logs or laundry.", 45, 19],
    ["PLANTER-ST", "Stoneware planter", "18 cm, with a drainage hole and saucer.", 27, 48],
    ["LAMP-RD", "Reading lamp", "Powder-coated steel, E27, 1.8 m textile cable.", 95, 12],
    ["DOORMAT-CO", "Coir doormat", "75 × 45 cm, natural coconut fibre.", 24, 36],
  ],
  paper: [
    ["NOTE-A5", "A5 dotted notebook", "160 pages of 100 g paper, lies flat, numbered pages.", 18, 140],
    ["PEN-FTN", "Fountain pen", "Steel nib (medium), brass body, takes standard cartridges.", 59, 26],
    ["INK-50", "Blue-black ink", "50 ml bottle, water-resistant once dry.", 12, 58],
    ["RULER-BR", "Brass ruler", "30 cm, engraved centimetres and inches.", 16.5, 40],
    ["PLAN-27", "Weekly planner 2027", "A5, a week on two pages, linen cover.", 24, 95],
    ["ENV-50", "Kraft envelopes", "Pack of 50, C6, recycled paper.", 7.5, 300],
    ["PENCIL-6", "Drawing pencils", "Six graphite grades from 2H to 6B.", 9, 130],
    ["MARK-LTH", "Leather bookmark", "Vegetable-tanned, ages beautifully.", 11, 77],
    ["ORG-DESK", "Desk organiser", "Walnut, three compartments and a phone slot.", 42, 17],
    ["WASHI-5", "Washi tape set", "Five rolls, 15 mm, easy to tear and lift.", 8.5, 160],
  ],
  outdoor: [
    ["BOTTLE-750", "Insulated bottle", "750 ml, cold for 24 hours, hot for 12.", 32, 90],
    ["PACK-28", "Trail backpack", "28 litres, recycled nylon, rain cover in the lid.", 119, 15],
    ["MUG-ENA", "Enamel camp mug", "350 ml, white with a blue rim.", 13, 100],
    ["LAMP-HEAD", "Headlamp", "350 lumens, USB-C rechargeable, red light mode.", 39, 44],
    ["BEANIE-MR", "Merino beanie", "Ribbed, one size, 100 % merino wool.", 29, 52],
    ["BLANKET-PC", "Picnic blanket", "150 × 200 cm, water-resistant backing, rolls up with a strap.", 49, 27],
    ["STOOL-FLD", "Folding camp stool", "Aluminium and canvas, 900 g, holds 100 kg.", 35, 23],
    ["SOCKS-HK", "Hiking socks", "Two pairs, merino blend, cushioned sole. Size 39-42.", 24, 68],
    ["COMPASS", "Baseplate compass", "Liquid-filled, with a declination adjustment.", 27, 31],
    ["DRYBAG-10", "Dry bag", "10 litres, roll-top, keeps your things dry in a downpour.", 19, 59],
  ],
  apparel: [
    ["TEE-ORG", "Organic cotton T-shirt", "Heavyweight jersey, relaxed fit. Size M.", 29, 140],
    ["TOTE-CV", "Canvas tote bag", "Waxed canvas, leather handles, inside pocket.", 45, 38],
    ["SWEATER-MR", "Merino sweater", "Crew neck, fine knit, machine washable. Size M.", 89, 21],
    ["APRON-LN", "Linen apron", "Cross-back straps, two front pockets.", 39, 33],
    ["SCARF-WL", "Wool scarf", "180 × 30 cm, brushed lambswool.", 49, 29],
    ["CAP-CTN", "Cotton cap", "Six panels, adjustable brass buckle.", 25, 60],
    ["JACKET-RN", "Rain jacket", "Three-layer, taped seams, packs into its pocket. Size M.", 149, 11],
    ["SHORTS-CH", "Chino shorts", "Organic cotton twill, 9-inch inseam. Size 32.", 55, 26],
    ["SOCKS-KN", "Knit socks", "Three pairs, combed cotton. Size 39-42.", 19, 120],
    ["JACKET-DN", "Denim jacket", "Selvedge denim, raw, will fade with wear. Size M.", 129, 9],
  ],
};

/** The whole catalogue, in a fixed order. */
export const PRODUCTS: DemoProduct[] = Object.entries(ROWS).flatMap(([key, rows]) => {
  const category: Category = CATEGORIES[key as keyof typeof CATEGORIES];
  return rows.map(([slug, name, description, euros, stock, active = true]) => ({
    sku: `${category.code}-${slug}`,
    name,
    description: `${category.name}. ${description}`,
    priceCents: Math.round(euros * 100),
    stock,
    active,
    category,
  }));
});

export const CURRENCY = "EUR";

/** The demo accounts. Their passwords are derived from SECRETS_KEY (scripts/seed.ts). */
export const ACCOUNTS = {
  admin: { email: "demo.admin@example.com", name: "Demo Admin", role: "admin" as const },
  shopper: { email: "demo.shopper@example.com", name: "Grace Hopper", role: "user" as const },
};

export const SHIPPING_ADDRESS = {
  name: "Grace Hopper",
  line1: "Hafenstraße 12",
  city: "Hamburg",
  postalCode: "20459",
  country: "DE",
  phone: "+49 40 1234567",
};

export type OrderStatus = "pending" | "paid" | "shipped" | "delivered" | "cancelled";

/** Five orders of the shopper, one per state; each is known again by its lines. */
export const ORDERS: { lines: { sku: string; quantity: number }[]; path: OrderStatus[]; reason?: string }[] = [
  {
    lines: [
      { sku: "BRW-ETH-250", quantity: 2 },
      { sku: "KIT-MUG-350", quantity: 2 },
    ],
    path: ["paid", "shipped", "delivered"],
  },
  {
    lines: [
      { sku: "OUT-PACK-28", quantity: 1 },
      { sku: "OUT-BOTTLE-750", quantity: 1 },
    ],
    path: ["paid", "shipped"],
  },
  {
    lines: [
      { sku: "PAP-NOTE-A5", quantity: 3 },
      { sku: "PAP-PEN-FTN", quantity: 1 },
    ],
    path: ["paid"],
  },
  { lines: [{ sku: "HOM-THROW-WL", quantity: 1 }], path: [] },
  { lines: [{ sku: "APP-JACKET-RN", quantity: 1 }], path: ["cancelled"], reason: "Ordered the wrong size." },
];
