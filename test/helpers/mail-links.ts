/** The signed order links in an email's text, as the customer would click them. */
export interface MailedOrderLink {
  url: string;
  orderId: string;
  token: string;
}

export function orderLinksIn(text: string | null): MailedOrderLink[] {
  return [...(text ?? "").matchAll(/https?:\/\/[^\s/]+\/orders\/([0-9a-f-]{36})\?access=([A-Za-z0-9._-]+)/g)].map((m) => ({
    url: m[0],
    orderId: m[1]!,
    token: m[2]!,
  }));
}

/** The same link with one character of its token changed. */
export function tampered(link: MailedOrderLink): string {
  const last = link.token.at(-2)!;
  return link.url.replace(link.token, `${link.token.slice(0, -2)}${last === "A" ? "B" : "A"}${link.token.at(-1)!}`);
}
