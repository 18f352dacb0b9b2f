import { createContext, useContext } from 'react';
import type { KnownFields } from '../graph/rules.ts';

/** The workspace's known data fields (`GET /v1/fields`) for the open editor's pickers; empty until loaded. */
export const FieldsContext = createContext<KnownFields>({ contact_properties: [], tags: [], events: [] });
export const useKnownFields = () => useContext(FieldsContext);
