// A small client of the Order Messages API, typed by what openapi-typescript makes of the
// served OpenAPI document (src/schema.d.ts, generated: npm run generate).
import createClient from "openapi-fetch";
import type { components, paths } from "./schema";

export type Message = components["schemas"]["MessageOut"];
export type Client = ReturnType<typeof connect>;

export function connect(baseUrl: string, token: string) {
  return createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${token}` } });
}

export const api = connect("http://127.0.0.1:8000", "om_…");

/** Ask the seller of an order a question, once however often it is retried. */
export async function ask(
  client: Client,
  order: string,
  vendorKey: string,
  body: string,
  key: string = crypto.randomUUID(),
): Promise<Message> {
  const { data, error } = await client.POST(
    "/api/v1/orders/{number}/conversations/{vendor_key}/messages",
    {
      params: { path: { number: order, vendor_key: vendorKey }, header: { "Idempotency-Key": key } },
      body: { body },
    },
  );
  if (error) throw new Error(`${error.error.code}: ${error.error.message}`);
  return data;
}

/** How many messages wait for me, in every conversation. */
export async function unread(client: Client): Promise<number> {
  const { data, error } = await client.GET("/api/v1/me/unread");
  if (error) throw new Error(error.error.message);
  return data.total;
}

/** A vendor's unread conversations in the back office, newest first. */
export async function unreadConversations(client: Client): Promise<string[]> {
  const { data, error } = await client.GET("/api/v1/backoffice/conversations", {
    params: { query: { show: "unread" } },
  });
  if (error) throw new Error(error.error.message);
  return data.items.map((row) => `#${row.order_number} ${row.vendor_name}: ${row.unread}`);
}
