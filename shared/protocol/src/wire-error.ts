import { z } from 'zod';
import { ErrorCodes, type ErrorCode } from './errors.js';

const codes = Object.keys(ErrorCodes) as [ErrorCode, ...ErrorCode[]];

export const WireErrorSchema = z.object({
  code: z.enum(codes),
  message: z.string(),
  details: z.record(z.string(), z.unknown()).optional(),
});
