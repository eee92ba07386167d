/** The products service's shapes, shared by its files. */

/** A product as the service stores and returns it (responses add `imageUrls`, products/images.actions.ts). */
export interface Product {
  id: string;
  sku: string;
  name: string;
  description: string;
  priceCents: number;
  currency: string;
  stock: number;
  active: boolean;
  /** Ids of the files it shows (JSON; read it with domain/images.ts parseImages). */
  images: unknown;
  createdAt: Date;
  updatedAt: Date;
}

/** A product as it leaves the service: its viewable images and where to fetch them; times as ISO-8601 strings. */
export interface ProductView extends Omit<Product, "images" | "createdAt" | "updatedAt"> {
  createdAt: string;
  updatedAt: string;
  images: string[];
  imageUrls: string[];
}

export interface ProductsSettings {
  rest: string;
}
