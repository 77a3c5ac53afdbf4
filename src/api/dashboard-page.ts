export const dashboardPage = '<!doctype html><title>scrapeds</title>';
