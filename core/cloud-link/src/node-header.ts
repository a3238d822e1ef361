/** The HTTP header that names the node on the cloud/edge link (join, websocket upgrade, renewals). */
export const NODE_HEADER = 'x-edgetwin-node';
