/** `arbor admin stateroot-init STATEROOT`: the newer name of `os-init`. */
import type { CommandSpec } from "../../command.js";
import { osInitCommand } from "./os-init.js";

export const command: CommandSpec = osInitCommand(
  "admin stateroot-init",
  "Initialize empty state for given stateroot",
  "STATEROOT",
);
