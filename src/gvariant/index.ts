/** GVariant: the wire and disk encoding of OSTree objects (pure, no I/O). */
export { deserialize, isNormalForm, offsetWidth } from "./deserialize.js";
export { type GVValue, Just, serialize, Variant } from "./serialize.js";
export { alignUp, type GVType, isValidType, parseType } from "./type.js";
