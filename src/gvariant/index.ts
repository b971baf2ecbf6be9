/** GVariant: the wire and disk encoding of OSTree objects (pure, no I/O). */
export { deserialize, isNormalForm, offsetWidth } from "./deserialize.js";
export { type GVValue, Variant, serialize } from "./serialize.js";
export { type GVType, parseType, isValidType, alignUp } from "./type.js";
