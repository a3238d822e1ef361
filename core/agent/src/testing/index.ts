/**
 * Test and benchmark kit for the pod agent: a private containerd started with its own state
 * directories, and a tiny OCI image archive built from Debian's busybox-static.
 */
export { startContainerd, PAUSE_IMAGE, BUSYBOX_IMAGE, type RunningContainerd } from './containerd.js';
export { writeBusyboxImage, tar } from './oci-image.js';
