/**
 * The edge<->cloud wire contract: the message envelope and its operations (device and model sync,
 * upstream reports, acks, heartbeats), the pod/node messages, and the header that names a node.
 * edgecore's hub and cloudcore's hub both import it; certificates are in `@edgetwin/cloud-link/pki`.
 */
export * from './protocol.js';
export * from './pod-link.js';
export { NODE_HEADER } from './node-header.js';
