/**
 * Turning the routers' templates (`/orders/:id/cancel`) into paths a test can request. Values come
 * from a table keyed by parameter name; a parameter the table does not know is an error, never a
 * route skipped, so a route added with a new parameter fails the tests that walk the routes until
 * someone says what to fill it with.
 */
import type { RegisteredRoute } from "../../web/route-list.ts";

/** The values to try for one parameter in `path`, URL-safe as they are; undefined when the table has none for that path. */
export type ParamValues = (path: string) => readonly string[] | undefined;
export type ParamTable = Readonly<Record<string, ParamValues>>;

/** `METHOD /template`, the way routes are named in messages and tables. */
export const routeName = (route: Pick<RegisteredRoute, "method" | "path">): string => `${route.method} ${route.path}`;

/** Every parameter of `routes` that `table` cannot fill, as `GET /x/:y (:y)`; empty when it fills them all. */
export function unknownParams(routes: readonly RegisteredRoute[], table: ParamTable): string[] {
  return routes.flatMap((route) =>
    route.params.filter((name) => !table[name]?.(route.path)?.length).map((name) => `${routeName(route)} (:${name})`),
  );
}

/**
 * The route's path with every parameter filled, one path per combination of the table's values.
 * Throws on a parameter the table cannot fill.
 */
export function fillPath(route: RegisteredRoute, table: ParamTable): string[] {
  let paths = [route.path];
  for (const name of route.params) {
    const values = table[name]?.(route.path);
    if (!values?.length) throw new Error(`no value for :${name} in ${routeName(route)}: add one to the parameter table`);
    const slot = new RegExp(`:${name}(?!\\w)`);
    paths = paths.flatMap((path) => values.map((value) => path.replace(slot, () => value)));
  }
  return paths;
}
