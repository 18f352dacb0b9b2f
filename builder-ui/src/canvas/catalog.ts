import { createContext, useContext } from 'react';
import type { CatalogNode } from '../api/types.ts';

/** The catalog of the open editor, by node type. */
export const CatalogContext = createContext<Map<string, CatalogNode>>(new Map());
export const useCatalogMap = () => useContext(CatalogContext);
