// Graph's OData error body and the real codes/messages (reference §5, §3.3, §3.5, §3.8).
export class GraphError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
    /** Extra members of `innerError` (the 429 example carries code/status/message there). */
    readonly innerError: Record<string, string> = {},
  ) {
    super(message);
  }
}

export const GRAPH_MESSAGES = {
  itemNotFound:
    "The specified object was not found in the store., The process failed to get the correct properties.",
  accessDenied: "Access is denied. Check credentials and try again.",
  mailboxNotEnabled: "The mailbox is either inactive, soft-deleted, or is hosted on-premise.",
  idMalformed: "Id is malformed.",
  inefficientFilter: "The restriction or sort order is too complex for this operation.",
  searchWithOrderBy: "The query parameter '$orderBy' is not supported with '$search'.",
  searchWithFilter: "The query parameter '$filter' is not supported with '$search'.",
  messageSizeExceeded: "The message exceeds the maximum supported size.",
  noRecipients:
    "At least one recipient isn't valid., A message can't be sent because it contains no recipients.",
  mailboxConcurrency: "Application is over its MailboxConcurrency limit.",
  tooManyRequests: "Please retry again later.",
} as const;

export const itemNotFound = (): GraphError =>
  new GraphError(404, "ErrorItemNotFound", GRAPH_MESSAGES.itemNotFound);
export const accessDenied = (): GraphError =>
  new GraphError(403, "ErrorAccessDenied", GRAPH_MESSAGES.accessDenied);
export const idMalformed = (): GraphError =>
  new GraphError(400, "ErrorInvalidIdMalformed", GRAPH_MESSAGES.idMalformed);
export const badRequest = (message: string): GraphError => new GraphError(400, "BadRequest", message);
export const unknownProperty = (name: string, type = "microsoft.graph.message"): GraphError =>
  new GraphError(400, "BadRequest", `Could not find a property named '${name}' on type '${type}'.`);
export const unresolvedRecipient = (address: string): GraphError =>
  new GraphError(
    400,
    "ErrorInvalidRecipients",
    `At least one recipient isn't valid., Recipient '${address}' isn't resolved. All recipients must be resolved before a message can be submitted.`,
  );
export const resourceNotFound = (segment: string): GraphError =>
  new GraphError(400, "BadRequest", `Resource not found for the segment '${segment}'.`);

/** `date` carries no `Z`, as in Graph's bodies. */
export function graphErrorBody(
  error: GraphError,
  ids: { requestId: string; clientRequestId: string; now: number },
): { error: { code: string; message: string; innerError: Record<string, string> } } {
  return {
    error: {
      code: error.code,
      message: error.message,
      innerError: {
        ...error.innerError,
        date: new Date(ids.now).toISOString().slice(0, 19),
        "request-id": ids.requestId,
        "client-request-id": ids.clientRequestId,
      },
    },
  };
}
