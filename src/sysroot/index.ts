/**
 * The machine side of arbor (fact sheet §7): sysroots, deployments, the atomic boot switch, the
 * /etc merge and upgrades. Start with {@link Sysroot.load}; every write needs {@link lockSysroot}.
 */
export { BootConfig, blsEntryName, strverscmp } from "./bootconfig.js";
export { writeDeployments } from "./bootswap.js";
export { cleanupSysroot, listDeploymentDirs } from "./cleanup.js";
export { deployTree, finalizeDeployment, initializeDeployment, setDeploymentMutable } from "./deploy.js";
export {
  type Deployment,
  deploymentEqual,
  deploymentRelPath,
  isPinned,
  type UnlockedState,
} from "./deployment.js";
export { type DirDiff, diffDirs } from "./diff-dirs.js";
export { setKargsInPlace, setPinned, unlockDeployment, writeOrigin } from "./edit-deployment.js";
export { mergeEtc, type StaleShadow, staleShadows } from "./etc-merge.js";
export { initFs, initOsname } from "./init.js";
export { KernelArgs, kargsFromProcCmdline } from "./kargs.js";
export { findKernelLayout, type KernelLayout } from "./kernel-layout.js";
export { lockSysroot } from "./lock.js";
export { originFromRefspec } from "./origin.js";
export { finalizeStaged, stageTree } from "./stage.js";
export { type DeploymentStatus, deploymentStatuses } from "./status.js";
export { parseDebugFlags, Sysroot } from "./sysroot.js";
export { localPuller, type Puller, Upgrader } from "./upgrade.js";
export {
  computeNewList,
  rollbackDeployment,
  setDefaultDeployment,
  setDeploymentKargs,
  simpleWriteDeployment,
  undeploy,
} from "./write-list.js";
