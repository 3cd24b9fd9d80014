export { QueenClient, type ClientOptions } from './queen-client.js';
export { request, type RawResponse, type RequestOptions } from './request.js';
